import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DistributedModelView, RpcBackendView } from '../../shared/api/distributed';
import { EventBus } from '../../electron/control/core/event-bus';
import { createSilentLogger } from '../../electron/control/core/logger';
import { findLlamaBinaries } from '../../electron/control/llamacpp/binaries';
import { sleep } from '../../electron/control/llamacpp/net';
import { DistributedService } from '../../electron/control/llamacpp/service';
import { createMetrics, type Metrics } from '../../electron/control/metrics';

const MODEL = resolve(__dirname, '../../../shared/models/tiny-llama-8L.gguf');

const binaries = await findLlamaBinaries();
const ready = Boolean(binaries.llamaServer && binaries.rpcServer);

async function waitFor<T>(what: string, probe: () => T | undefined | null, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value) return value;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

// This file builds no binaries, because llamacpp-distributed.test.ts builds them where cmake exists.
describe.skipIf(!ready)('distributed model layer map cleanup', () => {
  let dataDir: string;
  const bus = new EventBus();
  const removed: string[] = [];
  let service: DistributedService;
  let metrics: Metrics;
  let rpc: RpcBackendView;
  let model: DistributedModelView;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'layer-cleanup-'));
    bus.on('distributed:removed', ({ id }) => removed.push(id));
    metrics = createMetrics({ bus, log: createSilentLogger(), tickMs: 60_000, saveMs: 60_000 });
    await metrics.start();
    service = new DistributedService({ dataDir, bus, log: createSilentLogger(), watchIntervalMs: 250 });
    await service.init();
    rpc = await service.startLocalRpc({ host: '127.0.0.1', threads: 1, register: true });
    model = await service.startModel({ model: MODEL, ctx: 512, backends: [rpc.endpoint] });
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    await metrics?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('metrics keeps a running model map', async () => {
    const layers = await waitFor('the layer map in the metrics snapshot', () => metrics.snapshot().layers[model.id], 30_000);
    expect(layers.devices.some((device) => device.device.includes(rpc.endpoint))).toBe(true);
  }, 40_000);

  it('stop emits distributed:removed and drops the map', async () => {
    expect(await service.stopModelById(model.id)).toEqual({ stopped: true });
    expect(removed).toEqual([model.id]);
    expect(metrics.snapshot().layers[model.id]).toBeUndefined();
    expect(service.listModels().some((m) => m.id === model.id)).toBe(false);
  });

  it('stopping an unknown id emits nothing', async () => {
    expect(await service.stopModelById('dist-999')).toEqual({ stopped: false });
    expect(removed).toEqual([model.id]);
  });

  it('failed start emits distributed:removed', async () => {
    const bad = join(dataDir, 'not-a-model.gguf');
    await writeFile(bad, 'this is not GGUF');
    const failure = await service.startModel({ model: bad, backends: [] }).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(removed).toHaveLength(2);
    expect(removed[1]).not.toBe(model.id);
    expect(service.listModels().some((m) => m.id === removed[1])).toBe(false);
    expect(metrics.snapshot().layers[removed[1]]).toBeUndefined();
  }, 60_000);
});
