import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../electron/control/core/logger';
import { EventBus } from '../../electron/control/core/event-bus';
import { BreakerBoard, type BreakerEvent } from '../../electron/control/breaker/breaker-board';
import { parseFleetProfile } from '../../electron/control/sim/profile';
import { startFleet, type SimFleet } from '../../electron/control/sim/fleet';

let fleet: SimFleet;

beforeAll(async () => {
  const profile = parseFleetProfile({
    name: 'breaker-test',
    models: [{ name: 'llama3.2:latest', sizeBytes: 2e9, blockCount: 16 }],
    nodes: [
      { name: 'busy', gpuVramBytes: 8e9, tokensPerSecGpu: 50, tokensPerSecCpu: 5, loadMs: 0, parallel: 1, queueLimit: 0, faults: { busyChance: 1 }, models: ['llama3.2:latest'] },
      { name: 'good', gpuVramBytes: 8e9, tokensPerSecGpu: 500, tokensPerSecCpu: 50, loadMs: 0, parallel: 2, queueLimit: 4, models: ['llama3.2:latest'] },
    ],
  });
  fleet = await startFleet(profile, { speed: 20 });
});

afterAll(async () => {
  await fleet?.close();
});

async function send(url: string) {
  const started = performance.now();
  try {
    const res = await fetch(`${url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', prompt: 'x', stream: false, options: { num_predict: 3 } }) });
    await res.arrayBuffer();
    return { ok: res.ok, status: res.status, latencyMs: performance.now() - started };
  } catch {
    return { ok: false, latencyMs: performance.now() - started };
  }
}

describe('breaker against simulated nodes', () => {
  it('opens on a node that answers 503 within milliseconds', async () => {
    let clock = 0;
    const events = new EventBus();
    const seen: BreakerEvent[] = [];
    events.on('breaker:state', (e) => seen.push(e as BreakerEvent));
    const board = new BreakerBoard({ log: createSilentLogger(), events, options: { now: () => clock, openMs: 1000 } });
    const busy = fleet.node('busy');

    for (let i = 0; i < 3; i++) {
      const result = await send(busy.url);
      expect(result.status).toBe(503);
      expect(result.latencyMs).toBeLessThan(200);
      board.get('busy').record(result);
    }
    expect(board.state('busy')).toBe('open');
    expect(board.get('busy').admit()).toBe('rejected');
    expect(seen).toHaveLength(1);
    expect(seen[0].reason).toContain('3 consecutive failures, last status 503');

    const good = fleet.node('good');
    for (let i = 0; i < 3; i++) board.get('good').record(await send(good.url));
    expect(board.state('good')).toBe('closed');

    clock += 1000;
    expect(board.get('busy').admit()).toBe('probe');
    board.get('busy').record(await send(busy.url));
    expect(board.state('busy')).toBe('open');
    expect(busy.engine.stats.busyRejected).toBe(4);
  });

  it('opens on a node that refuses connections', async () => {
    const board = new BreakerBoard({ log: createSilentLogger() });
    const url = fleet.node('good').url.replace(/:\d+$/, ':1');
    for (let i = 0; i < 3; i++) board.get('gone').record(await send(url));
    expect(board.state('gone')).toBe('open');
  });
});
