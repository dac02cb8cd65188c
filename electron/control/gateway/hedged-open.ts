import type { HedgeBudget } from '../hedging/hedge-budget';
import { runHedged, type HedgeCounters } from '../hedging/hedge';
import type { RouteLease, RouteRequest, RouterPort } from '../router/port';
import type { Cancelled, Opened, Retryable } from './forward';

/** Hedging hooks the gateway takes from the closed loop. */
export type HedgePolicy = {
  /** True when every routed generation request is hedged (the routing setting). */
  enabledByDefault(): boolean;
  budget: HedgeBudget;
  counters: HedgeCounters;
  /** Milliseconds to wait for the primary's first byte before sending the hedge. */
  delayMs(nodeId: string, model: string): number;
  /** True when a node other than `exclude` has the model loaded with matching options. */
  hasTarget(request: RouteRequest): boolean;
  /** Called after each hedged request, to publish the counters. */
  afterRequest?(): void;
};

export type OpenFn = (lease: RouteLease, signal: AbortSignal) => Promise<Retryable | Cancelled | Opened>;

export type HedgedOpen =
  | { kind: 'opened'; lease: RouteLease; opened: Opened }
  | { kind: 'failed'; failure: Retryable | Cancelled; tried: string[] };

type Won = { lease: RouteLease; opened: Opened };

/**
 * Opens a request on the primary lease and, when its first byte has not arrived after the
 * policy's delay, on a second node that already has the model loaded. The first to respond wins;
 * the other is aborted at once and its lease finished as cancelled. Every failed attempt
 * finishes its own lease, so the caller only finishes the winner's.
 */
export async function openWithHedge(input: {
  router: RouterPort;
  policy: HedgePolicy;
  request: RouteRequest;
  primary: RouteLease;
  open: OpenFn;
  signal: AbortSignal;
  /** Whether the caller will retry a failure on another node (recorded on the decision). */
  willRetry: boolean;
}): Promise<HedgedOpen> {
  const { router, policy, primary } = input;
  const exclude = [...(input.request.exclude ?? []), primary.node.id];
  let backupLease: RouteLease | undefined;

  const attempt = (lease: RouteLease) => async (signal: AbortSignal): Promise<Won> => {
    const outcome = await input.open(lease, signal);
    if (outcome.kind === 'opened') return { lease, opened: outcome };
    if (outcome.kind === 'cancelled') {
      lease.finish({ ok: false, cancelled: true, latencyMs: outcome.elapsedMs, error: 'aborted: the other hedged attempt won or the client disconnected' });
    } else {
      lease.finish({ ok: false, latencyMs: outcome.elapsedMs, status: outcome.status, error: outcome.error, retried: input.willRetry });
    }
    throw outcome;
  };

  const backup = async (signal: AbortSignal): Promise<Won> => {
    const routed = router.route({ ...input.request, exclude, requireLoaded: true });
    if (routed.kind !== 'routed') throw { kind: 'retryable', error: `no hedge target: ${routed.message}`, elapsedMs: 0 } satisfies Retryable;
    backupLease = routed.lease;
    return attempt(routed.lease)(signal);
  };

  const hasTarget = policy.hasTarget({ ...input.request, exclude, requireLoaded: true });
  try {
    const outcome = await runHedged<Won>({
      primary: attempt(primary),
      backup: hasTarget ? backup : null,
      delayMs: policy.delayMs(primary.node.id, input.request.model),
      budget: policy.budget,
      counters: policy.counters,
      signal: input.signal,
      dispose: (late) => {
        late.opened.abort();
        late.opened.response.destroy();
        late.lease.finish({ ok: false, cancelled: true, latencyMs: performance.now() - late.opened.startedAt, error: 'hedge lost the race' });
      },
    });
    const loser = outcome.winner === 'primary' ? backupLease : primary;
    if (outcome.hedged && loser) loser.finish({ ok: false, cancelled: true, latencyMs: 0, error: 'hedge lost the race' });
    return { kind: 'opened', lease: outcome.value.lease, opened: outcome.value.opened };
  } catch (error) {
    const failure = isFailure(error) ? error : ({ kind: 'retryable', error: (error as Error).message ?? String(error), elapsedMs: 0 } satisfies Retryable);
    return { kind: 'failed', failure, tried: backupLease ? [primary.node.id, backupLease.node.id] : [primary.node.id] };
  } finally {
    policy.afterRequest?.();
  }
}

function isFailure(value: unknown): value is Retryable | Cancelled {
  const kind = (value as { kind?: unknown } | null)?.kind;
  return kind === 'retryable' || kind === 'cancelled';
}
