import { describe, expect, it } from 'vitest';
import { HedgeBudget } from '../../electron/control/hedging/hedge-budget';
import { createHedgeCounters, hedgeDelayMs, runHedged, type HedgeAttempt } from '../../electron/control/hedging/hedge';

/** Creates an attempt that resolves with `value` after `ms`, or rejects and logs when aborted. */
function timed(value: string, ms: number, log: string[], fail = false): HedgeAttempt<string> {
  return (signal) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => (fail ? reject(new Error(`${value} failed`)) : resolve(value)), ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        log.push(`${value} aborted`);
        reject(new Error('aborted'));
      });
    });
}

const openBudget = () => new HedgeBudget({ ratio: 1 });

describe('runHedged', () => {
  it('sends no backup when the primary answers before the delay', async () => {
    const log: string[] = [];
    const counters = createHedgeCounters();
    const outcome = await runHedged({ primary: timed('p', 5, log), backup: timed('b', 5, log), delayMs: 100, budget: openBudget(), counters });
    expect(outcome).toEqual({ value: 'p', winner: 'primary', hedged: false });
    expect(counters.sent).toBe(0);
    expect(log).toEqual([]);
  });

  it('lets a faster backup win and aborts the primary', async () => {
    const log: string[] = [];
    const counters = createHedgeCounters();
    const outcome = await runHedged({ primary: timed('p', 500, log), backup: timed('b', 10, log), delayMs: 20, budget: openBudget(), counters });
    expect(outcome.winner).toBe('backup');
    expect(log).toEqual(['p aborted']);
    expect(counters).toMatchObject({ requests: 1, sent: 1, won: 1, cancelled: 1 });
  });

  it('aborts the backup when the primary wins after the hedge', async () => {
    const log: string[] = [];
    const counters = createHedgeCounters();
    const outcome = await runHedged({ primary: timed('p', 40, log), backup: timed('b', 500, log), delayMs: 10, budget: openBudget(), counters });
    expect(outcome).toEqual({ value: 'p', winner: 'primary', hedged: true });
    expect(log).toEqual(['b aborted']);
    expect(counters.won).toBe(0);
    expect(counters.cancelled).toBe(1);
  });

  it('waits for the backup when the hedged primary fails', async () => {
    const log: string[] = [];
    const outcome = await runHedged({ primary: timed('p', 30, log, true), backup: timed('b', 40, log), delayMs: 10, budget: openBudget(), counters: createHedgeCounters() });
    expect(outcome.winner).toBe('backup');
  });

  it('throws the primary error when it fails before the hedge', async () => {
    const log: string[] = [];
    const counters = createHedgeCounters();
    await expect(runHedged({ primary: timed('p', 5, log, true), backup: timed('b', 5, log), delayMs: 50, budget: openBudget(), counters })).rejects.toThrow('p failed');
    await new Promise((r) => setTimeout(r, 80));
    expect(counters.sent).toBe(0);
  });

  it('throws the primary error when both fail', async () => {
    const log: string[] = [];
    await expect(runHedged({ primary: timed('p', 30, log, true), backup: timed('b', 5, log, true), delayMs: 5, budget: openBudget(), counters: createHedgeCounters() })).rejects.toThrow('p failed');
  });

  it('aborts both attempts when the client aborts', async () => {
    const log: string[] = [];
    const client = new AbortController();
    const run = runHedged({ primary: timed('p', 500, log), backup: timed('b', 500, log), delayMs: 5, budget: openBudget(), counters: createHedgeCounters(), signal: client.signal });
    await new Promise((r) => setTimeout(r, 30));
    client.abort();
    await expect(run).rejects.toThrow();
    expect(log.sort()).toEqual(['b aborted', 'p aborted']);
  });

  it('skips the hedge when the budget is spent', async () => {
    const log: string[] = [];
    const counters = createHedgeCounters();
    const outcome = await runHedged({ primary: timed('p', 40, log), backup: timed('b', 1, log), delayMs: 5, budget: new HedgeBudget({ ratio: 0.05 }), counters });
    expect(outcome.hedged).toBe(false);
    expect(counters.skippedByBudget).toBe(1);
  });
});

describe('HedgeBudget', () => {
  it('caps hedges at 5% of requests in the window', () => {
    let clock = 0;
    const budget = new HedgeBudget({ ratio: 0.05, windowMs: 1000, now: () => clock });
    for (let i = 0; i < 40; i++) budget.noteRequest();
    expect(budget.tryTake()).toBe(true);
    expect(budget.tryTake()).toBe(true);
    expect(budget.tryTake()).toBe(false);
    clock = 1000;
    expect(budget.usage()).toEqual({ hedges: 0, requests: 0 });
    expect(budget.tryTake()).toBe(false);
  });

  it('rejects an invalid ratio', () => {
    expect(() => new HedgeBudget({ ratio: 2 })).toThrow('invalid hedge ratio 2');
  });
});

describe('hedgeDelayMs', () => {
  it('uses the p95 above the floor', () => expect(hedgeDelayMs(350, { floorMs: 100 })).toBe(350));
  it('applies the floor', () => expect(hedgeDelayMs(20, { floorMs: 100 })).toBe(100));
  it('falls back without samples', () => expect(hedgeDelayMs(undefined, { fallbackMs: 900 })).toBe(900));
});

describe('runHedged with an aborted client', () => {
  it('starts no attempt', async () => {
    const log: string[] = [];
    const client = new AbortController();
    client.abort();
    await expect(runHedged({ primary: timed('p', 500, log), backup: null, delayMs: 5, budget: new HedgeBudget({ ratio: 1 }), counters: createHedgeCounters(), signal: client.signal })).rejects.toThrow();
    expect(log).toEqual([]);
  });
});
