import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlamaBuildProgress } from '../../shared/api/distributed';
import { ApiFailure, ApiRegistry } from '../../electron/control/core/api-registry';
import { EventBus } from '../../electron/control/core/event-bus';
import { createSilentLogger } from '../../electron/control/core/logger';
import { registerDistributedApi } from '../../electron/control/llamacpp/api';
import { findLlamaBinaries } from '../../electron/control/llamacpp/binaries';
import { LlamaBuildRunner, findBuildScript, parseBuildPercent } from '../../electron/control/llamacpp/build-runner';
import { DistributedService } from '../../electron/control/llamacpp/service';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llama-build-runner-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a stand-in build script that prints the given lines and exits with `code` after `delayMs`. */
async function writeScript(name: string, lines: { out?: string; err?: string }[], code: number, delayMs = 0): Promise<string> {
  const path = join(dir, name);
  const body = lines
    .map((l) => (l.out !== undefined ? `process.stdout.write(${JSON.stringify(l.out + '\n')});` : `process.stderr.write(${JSON.stringify(l.err + '\n')});`))
    .join('\n');
  await writeFile(path, `${body}\nsetTimeout(() => process.exit(${code}), ${delayMs});\n`);
  return path;
}

function collect(bus: EventBus): LlamaBuildProgress[] {
  const events: LlamaBuildProgress[] = [];
  bus.on('llama:build-progress', (payload) => events.push(payload as LlamaBuildProgress));
  return events;
}

describe('parseBuildPercent', () => {
  it('reads cmake progress with and without prefix', () => {
    expect(parseBuildPercent('[ 42%] Building CXX object ggml/src/ggml.c.o')).toBe(42);
    expect(parseBuildPercent('[llama:build] [100%] Built target llama-server')).toBe(100);
    expect(parseBuildPercent('[llama:build] [  3%] Building C object')).toBe(3);
  });

  it('ignores lines without a percent prefix', () => {
    expect(parseBuildPercent('[llama:build] cloning bundle')).toBeUndefined();
    expect(parseBuildPercent('linking 42% done [ 5%]')).toBeUndefined();
    expect(parseBuildPercent('[999%] nonsense')).toBeUndefined();
  });
});

describe('LlamaBuildRunner', () => {
  it('finds the repository build script', () => {
    const script = findBuildScript();
    expect(script).not.toBeNull();
    expect(script?.endsWith(join('scripts', 'llama-build.mjs'))).toBe(true);
  });

  it('streams progress and returns the bin folder', async () => {
    const bus = new EventBus();
    const events = collect(bus);
    const script = await writeScript(
      'ok.mjs',
      [{ err: '[llama:build] cloning' }, { err: '[llama:build] [ 10%] Building C object a.o' }, { err: '[llama:build] [ 55%] Building CXX object b.o' }, { out: '/tmp/some/bin' }],
      0,
    );
    const runner = new LlamaBuildRunner({ bus, log: createSilentLogger(), scriptPath: script });
    const result = await runner.run();
    expect(result.state).toBe('done');
    expect(result.binDir).toBe('/tmp/some/bin');
    expect(result.percent).toBe(100);
    expect(events.map((e) => e.percent).filter((p) => p !== undefined)).toEqual([10, 55, 100]);
    expect(events.at(-1)?.state).toBe('done');
    expect(events[0].line).toBe('[llama:build] cloning');
  });

  it('second call while running returns running state', async () => {
    const bus = new EventBus();
    const script = await writeScript('slow.mjs', [{ err: '[llama:build] [ 20%] Building' }, { out: '/tmp/slow/bin' }], 0, 1500);
    const runner = new LlamaBuildRunner({ bus, log: createSilentLogger(), scriptPath: script });
    const first = runner.run();
    await new Promise((resolve) => setTimeout(resolve, 600));
    const second = await runner.run();
    expect(second.state).toBe('running');
    expect(second.percent).toBe(20);
    const done = await first;
    expect(done.state).toBe('done');
    expect(runner.view()?.state).toBe('done');
  });

  it('failure reports exit code and last lines', async () => {
    const bus = new EventBus();
    const events = collect(bus);
    const script = await writeScript('fail.mjs', [{ err: '[llama:build] [ 70%] Building' }, { err: '[llama:build] error: cmake is not installed' }], 3);
    const runner = new LlamaBuildRunner({ bus, log: createSilentLogger(), scriptPath: script });
    const error = await runner.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiFailure);
    expect((error as ApiFailure).message).toContain('exited with code 3');
    expect((error as ApiFailure).message).toContain('cmake is not installed');
    const view = runner.view();
    expect(view?.state).toBe('failed');
    expect(view?.exitCode).toBe(3);
    expect(view?.percent).toBe(70);
    expect(events.at(-1)?.state).toBe('failed');
  });

  it('missing script is rejected with its path', async () => {
    const runner = new LlamaBuildRunner({ bus: new EventBus(), log: createSilentLogger(), scriptPath: join(dir, 'absent.mjs') });
    await expect(runner.run()).rejects.toThrow(/absent\.mjs not found/);
  });

  it('real build script returns the cached bin folder', async () => {
    const found = await findLlamaBinaries();
    if (!found.llamaServer || !found.rpcServer || found.llamaServer.source !== 'cache') {
      console.warn('skipped: no cached llama.cpp build; a fresh build takes many minutes on two cores');
      return;
    }
    const bus = new EventBus();
    const events = collect(bus);
    const runner = new LlamaBuildRunner({ bus, log: createSilentLogger() });
    const result = await runner.run();
    expect(result.state).toBe('done');
    expect(existsSync(join(result.binDir ?? '', 'llama-server'))).toBe(true);
    expect(events.some((e) => e.line.includes('cached build'))).toBe(true);
  }, 120_000);
});

describe('llama:build channel', () => {
  it('returns the build and its failure envelope', async () => {
    const bus = new EventBus();
    const service = new DistributedService({ dataDir: dir, bus, log: createSilentLogger() });
    await service.init();
    const api = new ApiRegistry(createSilentLogger());
    const okScript = await writeScript('channel-ok.mjs', [{ out: '/tmp/channel/bin' }], 0);
    registerDistributedApi(api, service, new LlamaBuildRunner({ bus, log: createSilentLogger(), scriptPath: okScript }));
    expect(api.registered()).toContain('llama:build');
    const done = await api.invoke('llama:build', {});
    expect(done).toMatchObject({ ok: true, value: { state: 'done', binDir: '/tmp/channel/bin' } });

    const failing = new ApiRegistry(createSilentLogger());
    const failScript = await writeScript('channel-fail.mjs', [{ err: 'boom' }], 5);
    registerDistributedApi(failing, service, new LlamaBuildRunner({ bus, log: createSilentLogger(), scriptPath: failScript }));
    const failed = await failing.invoke('llama:build', undefined);
    expect(failed.ok).toBe(false);
    if (!failed.ok) {
      expect(failed.error.code).toBe('unavailable');
      expect(failed.error.message).toContain('exited with code 5');
      expect(failed.error.message).toContain('boom');
    }
    await service.close();
  });

  it('rejects non-object arguments', async () => {
    const bus = new EventBus();
    const service = new DistributedService({ dataDir: dir, bus, log: createSilentLogger() });
    const api = new ApiRegistry(createSilentLogger());
    registerDistributedApi(api, service, new LlamaBuildRunner({ bus, log: createSilentLogger(), scriptPath: join(dir, 'never.mjs') }));
    const result = await api.invoke('llama:build', 'now');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('invalid_argument');
  });
});
