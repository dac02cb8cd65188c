import type { HedgeBudget } from './hedge-budget';

/**
 * Starts a request on one node and resolves once its first byte has arrived (for example a
 * fetch whose first body chunk was read). It must stop all work when `signal` aborts.
 */
export type HedgeAttempt<T> = (signal: AbortSignal) => Promise<T>;

/** Counters for the routing trace and the benchmark. */
export type HedgeCounters = { requests: number; sent: number; won: number; cancelled: number; skippedByBudget: number };

export function createHedgeCounters(): HedgeCounters {
  return { requests: 0, sent: 0, won: 0, cancelled: 0, skippedByBudget: 0 };
}

export type HedgeInput<T> = {
  primary: HedgeAttempt<T>;
  /** The backup on another node that already has the model loaded; null disables hedging. */
  backup: HedgeAttempt<T> | null;
  /** Milliseconds to wait for the primary's first byte before sending the backup. */
  delayMs: number;
  budget: HedgeBudget;
  counters: HedgeCounters;
  /** The client's signal: aborting it aborts both attempts. */
  signal?: AbortSignal;
  /** Releases a value that arrived after the race was decided (e.g. cancels a response body). */
  dispose?: (value: T) => void;
};

export type HedgeOutcome<T> = { value: T; winner: 'primary' | 'backup'; hedged: boolean };

/**
 * Runs a request with a delayed backup. The backup starts after `delayMs` if the primary has
 * not produced a first byte and the budget allows it. The first attempt to produce a byte wins
 * and the other is aborted at once through its AbortController, so its node stops generating.
 * If one attempt fails, the other is awaited; if both fail, the primary's error is thrown. A
 * primary that fails before the backup was sent is thrown at once, so the caller's own retry
 * logic decides what happens next.
 */
export function runHedged<T>(input: HedgeInput<T>): Promise<HedgeOutcome<T>> {
  const { budget, counters } = input;
  budget.noteRequest();
  counters.requests++;

  return new Promise((resolve, reject) => {
    const primaryController = new AbortController();
    const backupController = new AbortController();
    let settled = false;
    let backupStarted = false;
    let primaryError: unknown;
    let failures = 0;
    let timer: NodeJS.Timeout | undefined;

    const onOuterAbort = () => {
      primaryController.abort(input.signal?.reason);
      backupController.abort(input.signal?.reason);
    };
    if (input.signal?.aborted) {
      reject(input.signal.reason ?? new Error('request aborted before it started'));
      return;
    }
    input.signal?.addEventListener('abort', onOuterAbort, { once: true });

    const finish = () => {
      settled = true;
      if (timer) clearTimeout(timer);
      input.signal?.removeEventListener('abort', onOuterAbort);
    };

    const win = (which: 'primary' | 'backup', value: T) => {
      if (settled) {
        input.dispose?.(value);
        return;
      }
      finish();
      if (backupStarted) {
        const loser = which === 'primary' ? backupController : primaryController;
        loser.abort(new Error('hedge lost the race'));
        counters.cancelled++;
      }
      if (which === 'backup') counters.won++;
      resolve({ value, winner: which, hedged: backupStarted });
    };

    const lose = (which: 'primary' | 'backup', error: unknown) => {
      if (settled) return;
      if (which === 'primary') primaryError = error;
      failures++;
      const bothDone = backupStarted ? failures >= 2 : true;
      if (bothDone) {
        finish();
        backupController.abort();
        reject(primaryError ?? error);
      }
    };

    input.primary(primaryController.signal).then(
      (value) => win('primary', value),
      (error: unknown) => lose('primary', error),
    );

    if (input.backup && !input.signal?.aborted) {
      const backup = input.backup;
      timer = setTimeout(() => {
        if (settled) return;
        if (!budget.tryTake()) {
          counters.skippedByBudget++;
          return;
        }
        backupStarted = true;
        counters.sent++;
        backup(backupController.signal).then(
          (value) => win('backup', value),
          (error: unknown) => lose('backup', error),
        );
      }, Math.max(0, input.delayMs));
    }
  });
}

/**
 * Computes the hedge delay: the p95 TTFT of the model on the primary node, never below `floorMs`, or
 * `fallbackMs` when there are too few samples for a p95.
 */
export function hedgeDelayMs(p95TtftMs: number | undefined, options: { floorMs?: number; fallbackMs?: number } = {}): number {
  const floor = options.floorMs ?? 100;
  const fallback = options.fallbackMs ?? 2000;
  return Math.max(floor, p95TtftMs ?? fallback);
}
