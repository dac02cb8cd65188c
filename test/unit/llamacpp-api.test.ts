import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiRegistry } from '../../electron/control/core/api-registry';
import { EventBus } from '../../electron/control/core/event-bus';
import { createSilentLogger } from '../../electron/control/core/logger';
import { registerDistributedApi } from '../../electron/control/llamacpp/api';
import { RpcBackendStore } from '../../electron/control/llamacpp/rpc-store';
import { DistributedService } from '../../electron/control/llamacpp/service';

let dataDir: string;
let api: ApiRegistry;
let service: DistributedService;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'llamacpp-api-'));
  service = new DistributedService({ dataDir, bus: new EventBus(), log: createSilentLogger() });
  await service.init();
  api = new ApiRegistry(createSilentLogger());
  registerDistributedApi(api, service);
});

afterAll(async () => {
  await service.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('distributed API channels', () => {
  it('registers every channel', () => {
    expect(api.registered().sort()).toEqual(
      [
        'distributed:layers',
        'distributed:list',
        'distributed:start',
        'distributed:stop',
        'llama:binaries',
        'rpc:add',
        'rpc:check',
        'rpc:list',
        'rpc:remove',
        'rpc:start-local',
        'rpc:stop-local',
      ].sort(),
    );
  });

  it('rejects an endpoint without a port', async () => {
    const result = await api.invoke('rpc:add', { endpoint: 'gpu-box' });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('invalid_argument');
      expect(result.error.message).toContain('expected host:port');
    }
  });

  it('rejects a start without a model', async () => {
    const result = await api.invoke('distributed:start', {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain('model');
  });

  it('returns not_found for unknown model ids', async () => {
    const result = await api.invoke('distributed:layers', { id: 'dist-404' });
    expect(result).toEqual({ ok: false, error: { code: 'not_found', message: "distributed model 'dist-404' not found" } });
  });

  it('lists nothing at first', async () => {
    expect(await api.invoke('rpc:list', undefined)).toEqual({ ok: true, value: [] });
    expect(await api.invoke('distributed:list', undefined)).toEqual({ ok: true, value: [] });
  });

  it('reports stopping an unknown local server', async () => {
    expect(await api.invoke('rpc:stop-local', { endpoint: '127.0.0.1:1' })).toEqual({ ok: true, value: { stopped: false } });
  });
});

describe('RpcBackendStore', () => {
  it('persists added backends', async () => {
    const store = new RpcBackendStore(dataDir);
    await store.add('10.0.0.2:50052', 'box', new Date('2026-01-01T00:00:00Z'));
    const again = new RpcBackendStore(dataDir);
    await again.load();
    expect(again.list()).toEqual([{ endpoint: '10.0.0.2:50052', name: 'box', addedAt: '2026-01-01T00:00:00.000Z' }]);
    expect(await again.remove('10.0.0.2:50052')).toBe(true);
    const file = JSON.parse(await readFile(store.path, 'utf8')) as { backends: unknown[] };
    expect(file.backends).toEqual([]);
  });

  it('starts empty and reports an invalid file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llamacpp-store-'));
    await writeFile(join(dir, 'rpc-backends.json'), '{"version":1,"backends":[{"endpoint":"nope"}]}');
    const store = new RpcBackendStore(dir);
    await store.load();
    expect(store.list()).toEqual([]);
    expect(store.loadProblem).toContain('rpc-backends.json');
    await rm(dir, { recursive: true, force: true });
  });
});
