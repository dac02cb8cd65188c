import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HedgeBudget } from '../../electron/control/hedging/hedge-budget';
import { createHedgeCounters, runHedged, type HedgeAttempt } from '../../electron/control/hedging/hedge';
import { parseFleetProfile } from '../../electron/control/sim/profile';
import { startFleet, type SimFleet } from '../../electron/control/sim/fleet';

let fleet: SimFleet;

beforeAll(async () => {
  const profile = parseFleetProfile({
    name: 'hedge-test',
    models: [{ name: 'llama3.2:latest', sizeBytes: 2e9, blockCount: 16 }],
    nodes: [
      { name: 'stalled', gpuVramBytes: 8e9, tokensPerSecGpu: 100, tokensPerSecCpu: 10, loadMs: 20_000, parallel: 1, queueLimit: 4, models: ['llama3.2:latest'] },
      { name: 'warm', gpuVramBytes: 8e9, tokensPerSecGpu: 100, tokensPerSecCpu: 10, loadMs: 0, parallel: 2, queueLimit: 4, models: ['llama3.2:latest'] },
    ],
  });
  fleet = await startFleet(profile, { speed: 10 });
  await fetch(`${fleet.node('warm').url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', prompt: '' }) });
});

afterAll(async () => {
  await fleet?.close();
});

type FirstByte = { reader: ReadableStreamDefaultReader<Uint8Array>; first: string };

/** Streams a generate request and resolves once the first NDJSON chunk arrived. */
function streamFrom(url: string): HedgeAttempt<FirstByte> {
  return async (signal) => {
    const res = await fetch(`${url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', prompt: 'hello', options: { num_predict: 20 } }), signal });
    if (!res.ok || !res.body) throw new Error(`status ${res.status}`);
    const reader = res.body.getReader();
    const chunk = await reader.read();
    return { reader, first: new TextDecoder().decode(chunk.value) };
  };
}

describe('hedging against simulated nodes', () => {
  it('aborts the losing request and its node stops generating', async () => {
    const stalled = fleet.node('stalled');
    const warm = fleet.node('warm');
    const counters = createHedgeCounters();
    const started = performance.now();
    const outcome = await runHedged({
      primary: streamFrom(stalled.url),
      backup: streamFrom(warm.url),
      delayMs: 100,
      budget: new HedgeBudget({ ratio: 1 }),
      counters,
      dispose: (value) => void value.reader.cancel(),
    });
    const firstByteMs = performance.now() - started;
    expect(outcome.winner).toBe('backup');
    expect(JSON.parse(outcome.value.first.split('\n')[0]).done).toBe(false);
    expect(firstByteMs).toBeLessThan(1000);

    await new Promise((r) => setTimeout(r, 100));
    expect(stalled.engine.stats.aborted).toBe(1);
    expect(counters).toMatchObject({ sent: 1, won: 1, cancelled: 1 });

    let rest = '';
    for (;;) {
      const { done, value } = await outcome.value.reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    const lines = (outcome.value.first + rest).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.at(-1).done).toBe(true);

    // The stalled node's load (20 s simulated, 2 s real) finishes, but the aborted request
    // must not generate anything afterwards.
    await new Promise((r) => setTimeout(r, 2300));
    expect(stalled.engine.stats.tokensGenerated).toBe(0);
    expect(stalled.engine.stats.generating).toBe(0);
  });

  it('aborts the backup when the primary is fast after all', async () => {
    const warm = fleet.node('warm');
    const abortedBefore = warm.engine.stats.aborted;
    const counters = createHedgeCounters();
    const outcome = await runHedged({
      primary: streamFrom(warm.url),
      backup: streamFrom(warm.url),
      delayMs: 0,
      budget: new HedgeBudget({ ratio: 1 }),
      counters,
      dispose: (value) => void value.reader.cancel(),
    });
    await outcome.value.reader.cancel();
    await new Promise((r) => setTimeout(r, 100));
    expect(counters.sent).toBe(1);
    expect(counters.cancelled).toBe(1);
    expect(warm.engine.stats.aborted).toBe(abortedBefore + 2);
  });
});
