import { randomUUID } from 'node:crypto';
import type { LiveFigures, RouteDecision } from '../../../shared/types';
import type { EventBus } from '../core/event-bus';
import type { Logger } from '../core/logger';
import type { NodeSnapshot, NodeTraffic } from '../nodes/registry';
import { NodeStats } from './node-stats';
import type { NodeTarget, RequestResult, RouteLease, RouteOutcome, RouteRequest, RouterPort } from './port';
import { RingBuffer } from './ring-buffer';
import { rankCandidates, type CandidateSnapshot, type RankFunction, type Ranking } from './score';

export type RouterOptions = {
  /** Current fleet, read on every decision. */
  nodes: () => NodeSnapshot[];
  bus: EventBus;
  log: Logger;
  /** Replaceable scoring; defaults to router v1's preference order. */
  rank?: RankFunction;
  decisionCapacity?: number;
  now?: () => Date;
  hooks?: RouterHooks;
};

/** Optional hooks of the closed loop; the control plane sets them after construction. */
export type RouterHooks = {
  /**
   * Asks a node's circuit breaker for permission when the router picks it. `rejected` makes the
   * router take the next candidate; `probe` lets this request through as the breaker's probe.
   * When every candidate was rejected the router asks again with `lastResort` true, so a hook
   * can let a merely slow node serve rather than fail the request.
   */
  admit?: (nodeId: string, lastResort: boolean) => 'allowed' | 'probe' | 'rejected';
  /** Called once per lease when it finishes, after the router's own bookkeeping. */
  onFinish?: (finished: FinishedLease) => void;
  /** Name recorded as the decision's strategy; `router-v1` by default. */
  strategyName?: () => string;
};

/** A finished lease, as passed to `RouterHooks.onFinish`. */
export type FinishedLease = { request: RouteRequest; node: NodeTarget; decision: RouteDecision; result: RequestResult };

/**
 * Router v1: picks the best healthy node that holds the model, counts requests in flight per
 * node, and records each decision in a ring buffer and as a `route:decision` event. The event
 * is sent twice per decision with the same id: when the node is picked, and again with the
 * outcome when the lease finishes.
 */
export class Router implements RouterPort {
  rank: RankFunction;
  hooks: RouterHooks;
  private readonly stats = new Map<string, NodeStats>();
  private readonly decisionLog: RingBuffer<RouteDecision>;
  private readonly now: () => Date;
  private totalRequests = 0;

  constructor(private readonly options: RouterOptions) {
    this.rank = options.rank ?? rankCandidates;
    this.hooks = options.hooks ?? {};
    this.decisionLog = new RingBuffer(options.decisionCapacity ?? 1000);
    this.now = options.now ?? (() => new Date());
  }

  route(request: RouteRequest): RouteOutcome {
    const snapshots = this.options.nodes();
    const ranking = this.admitted(this.rankFor(request, snapshots));
    const decision = this.newDecision(request, ranking);
    this.decisionLog.push(decision);

    const best = ranking.ranked[0];
    if (!best) return this.refuse(request, ranking, decision);

    const node = snapshots.find((candidate) => candidate.id === best.id)!;
    const stats = this.statsOf(node.id);
    stats.begin();
    this.totalRequests += 1;

    // Log and announce the decision in a microtask, after the caller has sent the request on.
    // A lease that finishes first announces it itself, so the two events stay in order.
    let announced = false;
    const announce = () => {
      if (announced) return;
      announced = true;
      const log = this.options.log;
      if (log.isLevelEnabled('info')) {
        log.info(
          { decisionId: decision.id, nodeId: node.id, attempt: decision.attempt, factors: decision.factors },
          `routed ${request.endpoint} model=${request.model} node=${node.name} reason="${best.reason}" factors=${formatFactors(decision.factors)}`,
        );
      }
      this.options.bus.emit('route:decision', decision);
    };
    queueMicrotask(announce);

    let finished = false;
    const target: NodeTarget = { id: node.id, name: node.name, url: node.url };
    const lease: RouteLease = {
      node: target,
      decision,
      finish: (result: RequestResult) => {
        if (finished) return;
        finished = true;
        announce();
        stats.end(result);
        Object.assign(decision, outcomeFields(result));
        this.options.bus.emit('route:decision', decision);
        try {
          this.hooks.onFinish?.({ request, node: target, decision, result });
        } catch (error) {
          this.options.log.error({ err: error, decisionId: decision.id, nodeId: node.id }, 'Lease finish hook failed');
        }
      },
    };
    return { kind: 'routed', lease };
  }

  /**
   * Ranks the fleet for a request without claiming a node or asking any breaker; the gateway
   * uses it to learn whether a hedge target exists. A round-robin strategy still advances.
   */
  preview(request: RouteRequest): Ranking {
    return this.rankFor(request, this.options.nodes());
  }

  private rankFor(request: RouteRequest, snapshots: NodeSnapshot[]): Ranking {
    const candidates: CandidateSnapshot[] = snapshots.map((node) => ({
      ...node,
      inFlight: this.statsOf(node.id).inFlight,
      ewmaLatencyMs: this.statsOf(node.id).ewmaLatencyMs,
    }));
    const ranking = this.rank(
      candidates,
      {
        model: request.model,
        options: request.options,
        priority: request.priority,
        taskType: request.taskType,
        expectedOutputTokens: request.expectedOutputTokens,
        prefersGpu: request.prefersGpu,
      },
      new Set(request.exclude),
    );
    if (!request.requireLoaded) return ranking;
    const cold = ranking.ranked.filter((candidate) => candidate.fit !== 'matching');
    return {
      ...ranking,
      ranked: ranking.ranked.filter((candidate) => candidate.fit === 'matching'),
      unavailable: [...ranking.unavailable, ...cold.map((c) => ({ id: c.id, name: c.name, reason: 'model not loaded with matching options' }))],
    };
  }

  /** Moves candidates whose breaker rejects the request from `ranked` to `unavailable`. */
  private admitted(ranking: Ranking): Ranking {
    const admit = this.hooks.admit;
    if (!admit) return ranking;
    for (const lastResort of [false, true]) {
      const rejected: Ranking['unavailable'] = [];
      for (let index = 0; index < ranking.ranked.length; index++) {
        const candidate = ranking.ranked[index];
        if (admit(candidate.id, lastResort) !== 'rejected') {
          return { ...ranking, ranked: ranking.ranked.slice(index), unavailable: [...rejected, ...ranking.unavailable] };
        }
        rejected.push({ id: candidate.id, name: candidate.name, reason: 'breaker rejected the request' });
      }
      if (lastResort) return { ...ranking, ranked: [], unavailable: [...rejected, ...ranking.unavailable] };
    }
    return ranking;
  }

  decisions(limit = 100): RouteDecision[] {
    return this.decisionLog.latest(limit);
  }

  traffic(nodeId: string): NodeTraffic {
    const stats = this.stats.get(nodeId);
    return { inFlight: stats?.inFlight ?? 0, ewmaLatencyMs: stats?.ewmaLatencyMs };
  }

  figures(): LiveFigures {
    return {
      at: this.now().toISOString(),
      totalRequests: this.totalRequests,
      nodes: this.options.nodes().map((node) => this.statsOf(node.id).figures(node.id, node.name)),
    };
  }

  private statsOf(nodeId: string): NodeStats {
    let stats = this.stats.get(nodeId);
    if (!stats) {
      stats = new NodeStats();
      this.stats.set(nodeId, stats);
    }
    return stats;
  }

  private refuse(request: RouteRequest, ranking: Ranking, decision: RouteDecision): RouteOutcome {
    if (ranking.unavailable.length === 0) {
      decision.outcome = 'not_found';
      decision.reason = 'no node holds this model';
      this.options.log.info({ decisionId: decision.id }, `no node for ${request.endpoint} model=${request.model}: not found`);
      this.options.bus.emit('route:decision', decision);
      return { kind: 'not_found', message: `model '${request.model}' not found` };
    }
    const why = ranking.unavailable.map((node) => `${node.name}: ${node.reason}`).join('; ');
    decision.outcome = 'unavailable';
    decision.reason = why;
    this.options.log.warn({ decisionId: decision.id }, `no node for ${request.endpoint} model=${request.model}: ${why}`);
    this.options.bus.emit('route:decision', decision);
    return { kind: 'unavailable', message: `no node can serve model '${request.model}' now (${why})` };
  }

  private newDecision(request: RouteRequest, ranking: Ranking): RouteDecision {
    const best = ranking.ranked[0];
    const alternatives = [
      ...ranking.ranked.slice(1).map((c) => ({ nodeId: c.id, nodeName: c.name, reason: c.reason })),
      ...ranking.unavailable.map((c) => ({ nodeId: c.id, nodeName: c.name, reason: c.reason })),
      ...ranking.lacking.map((c) => ({ nodeId: c.id, nodeName: c.name, reason: 'does not hold the model' })),
    ];
    const factors: Record<string, number> = {};
    if (best?.factors) {
      // Contributions first, then the total and the request's priority as context.
      Object.assign(factors, best.factors);
      if (best.score !== undefined) factors.score = best.score;
      factors.priority = request.priority ?? 5;
    } else if (best) {
      factors.loaded = best.fit === 'matching' ? 1 : best.fit === 'mismatched' ? 0.5 : 0;
      factors.inFlight = best.inFlight;
      if (best.ewmaLatencyMs !== undefined) factors.ewmaMs = Math.round(best.ewmaLatencyMs);
      factors.priority = request.priority ?? 5;
    }
    return {
      id: randomUUID(),
      at: this.now().toISOString(),
      endpoint: request.endpoint,
      model: request.model,
      nodeId: best?.id ?? null,
      nodeName: best?.name ?? null,
      strategy: this.hooks.strategyName?.() ?? 'router-v1',
      reason: best?.reason ?? '',
      factors,
      alternatives,
      attempt: request.attempt ?? 1,
    };
  }
}

/** Formats a decision's factors for a log line, e.g. `resident=+30 load=-12.5 score=47.5 priority=5`. */
export function formatFactors(factors: Record<string, number>): string {
  return Object.entries(factors)
    .map(([name, value]) => `${name}=${value > 0 && name !== 'score' && name !== 'priority' ? '+' : ''}${value}`)
    .join(' ');
}

function outcomeFields(result: RequestResult): Partial<RouteDecision> {
  let outcome: RouteDecision['outcome'] = result.ok ? 'ok' : 'error';
  if (result.cancelled) outcome = 'cancelled';
  if (result.retried) outcome = 'retried';
  return {
    outcome,
    latencyMs: Math.round(result.latencyMs),
    ttftMs: result.ttftMs === undefined ? undefined : Math.round(result.ttftMs),
    status: result.status,
    error: result.error,
    evalCount: result.evalCount,
    evalDurationNs: result.evalDurationNs,
  };
}
