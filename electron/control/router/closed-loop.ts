import type { RoutingSettings, RoutingStats } from '../../../shared/api/routing';
import type { NodeHealth, PlacementAction } from '../../../shared/types';
import type { EventBus } from '../core/event-bus';
import type { Logger } from '../core/logger';
import { BreakerBoard } from '../breaker/breaker-board';
import type { BreakerOptions } from '../breaker/node-breaker';
import { classifyResult, countsAgainstModel } from '../breaker/result-kind';
import type { HedgePolicy } from '../gateway/hedged-open';
import { HedgeBudget } from '../hedging/hedge-budget';
import { createHedgeCounters, hedgeDelayMs, type HedgeCounters } from '../hedging/hedge';
import { LearningStore, type LearnedStats } from '../learning/learning-store';
import type { NodeRegistry } from '../nodes/registry';
import { sameModel } from '../ollama-store/model-name';
import { PlacementController, type PlacementControllerOptions } from '../placement/controller';
import { createClosedLoopRank } from '../scoring/router-adapter';
import type { TaskType } from '../analysis/task-type';
import { RingBuffer } from './ring-buffer';
import { loadFit } from './score';
import type { FinishedLease, Router } from './router';
import { RoutingSettingsStore } from './routing-settings';
import { sendShadowProbe } from './shadow-probe';

export type ClosedLoopDeps = {
  dataDir: string;
  log: Logger;
  bus: EventBus;
  router: Router;
  nodes: NodeRegistry;
  /** Called when a finished request may have loaded or unloaded a model on a node. */
  onLoadedMayChange?: (nodeId: string) => void;
};

/** Tuning of the closed loop, in real milliseconds; the routing benchmark divides them by its speed factor. */
export type ClosedLoopTuning = {
  /** Smallest and fallback hedge delay in ms (fallback applies below 5 TTFT samples). */
  hedgeFloorMs?: number;
  hedgeFallbackMs?: number;
  /** Share of requests that may be hedged, 0 to 1. */
  hedgeRatio?: number;
  /** Milliseconds between two placement reloads of the same (node, model). */
  placementCooldownMs?: number;
  shadowProbeTimeoutMs?: number;
  /** Shortest gap in ms between two post-request `/api/ps` reads of one node; 250 by default. */
  psReadSpacingMs?: number;
  /** Thresholds and periods of the per-node circuit breakers. */
  breaker?: Omit<BreakerOptions, 'now'>;
};

/**
 * The closed routing loop around the router. It scores candidates with the configured strategy
 * and asks each node's circuit breaker before the node is picked. Every finished lease feeds the
 * learned statistics and the breaker. The GPU placement controller runs after requests and
 * health passes, nodes on probation get shadow probes, and the gateway gets a hedging policy.
 */
export class ClosedLoop {
  readonly settings: RoutingSettingsStore;
  readonly learning: LearningStore;
  readonly breakers: BreakerBoard;
  readonly placement: PlacementController;
  readonly hedgeBudget: HedgeBudget;
  readonly hedgeCounters: HedgeCounters = createHedgeCounters();
  private readonly recentActions = new RingBuffer<PlacementAction>(100);
  private readonly placementOptions: PlacementControllerOptions;
  private readonly probing = new Set<string>();
  /** Per node: when its post-request `/api/ps` reads last ran, and a pending trailing run. */
  private readonly psReads = new Map<string, { lastAt: number; timer?: NodeJS.Timeout }>();
  private readonly log: Logger;

  constructor(
    private readonly deps: ClosedLoopDeps,
    private readonly tuning: ClosedLoopTuning = {},
  ) {
    this.log = deps.log;
    this.settings = new RoutingSettingsStore(deps.dataDir, deps.log);
    this.learning = new LearningStore({ dataDir: deps.dataDir, log: deps.log });
    this.breakers = new BreakerBoard({ log: deps.log, events: deps.bus, options: tuning.breaker });
    this.hedgeBudget = new HedgeBudget({ ratio: tuning.hedgeRatio ?? 0.05 });
    this.placementOptions = {
      log: deps.log,
      events: deps.bus,
      nodes: () => deps.nodes.list().map((node) => ({ id: node.id, name: node.name, url: node.url, gpuVramBytes: node.gpuVramBytes })),
      inFlight: (nodeId) => deps.router.traffic(nodeId).inFlight,
      cooldownMs: tuning.placementCooldownMs,
      prewarm: [],
    };
    this.placement = new PlacementController(this.placementOptions);
    deps.bus.on('placement:action', (action) => {
      this.recentActions.push(action);
      if (action.outcome === 'succeeded') void deps.nodes.refreshLoaded(action.nodeId);
    });
    deps.bus.on('node:removed', ({ id }) => this.breakers.remove(id));

    deps.router.rank = createClosedLoopRank({
      strategy: () => this.settings.value.strategy,
      learning: this.learning,
      breakers: this.breakers,
      parallelOf: (nodeId) => this.settings.value.nodeParallel[nodeId],
      gpuVramOf: (nodeId) => deps.nodes.gpuVramOf(nodeId),
    });
    deps.router.hooks = {
      admit: (nodeId, lastResort) => this.admit(nodeId, lastResort),
      onFinish: (finished) => this.onFinish(finished),
      strategyName: () => this.settings.value.strategy,
    };
    deps.nodes.onHealthPass = (nodeId, previous, current) => this.onHealthPass(nodeId, previous, current);
  }

  /** Loads saved settings and learned statistics. Call before the nodes start. */
  async load(): Promise<void> {
    await this.settings.load();
    this.placementOptions.prewarm = this.settings.value.prewarm;
    await this.learning.load();
  }

  /** Pre-warms the configured (model, nodes) pairs; call after the first health checks. */
  async start(): Promise<void> {
    if (this.settings.value.controller && this.settings.value.prewarm.length > 0) await this.placement.prewarm();
  }

  /** Saves learned statistics. */
  async stop(): Promise<void> {
    for (const read of this.psReads.values()) clearTimeout(read.timer);
    this.psReads.clear();
    await this.learning.save().catch((error: unknown) => this.log.error({ err: error, path: this.learning.path }, 'Saving learned statistics failed'));
  }

  async updateSettings(patch: Partial<RoutingSettings>): Promise<RoutingSettings> {
    const next = await this.settings.update(patch);
    this.placementOptions.prewarm = next.prewarm;
    return next;
  }

  stats(): RoutingStats {
    return {
      strategy: this.settings.value.strategy,
      hedges: { ...this.hedgeCounters },
      breakers: this.deps.nodes.list().map((node) => ({ nodeId: node.id, state: this.breakers.state(node.id) })),
      placementActions: this.recentActions.latest(50).reverse(),
      learned: this.learning.list(),
    };
  }

  /** Builds the gateway's hedging policy over this loop's budget, counters and statistics. */
  hedgePolicy(): HedgePolicy {
    return {
      enabledByDefault: () => this.settings.value.hedging,
      budget: this.hedgeBudget,
      counters: this.hedgeCounters,
      delayMs: (nodeId, model) =>
        hedgeDelayMs(this.learning.p95TtftMs(nodeId, model), { floorMs: this.tuning.hedgeFloorMs, fallbackMs: this.tuning.hedgeFallbackMs }),
      hasTarget: (request) => this.deps.router.preview(request).ranked.length > 0,
      afterRequest: () => this.deps.bus.emit('hedge:stats', { ...this.hedgeCounters }),
    };
  }

  /**
   * Lets a request through a node's breaker. A node on probation gets no normal traffic unless
   * every candidate was rejected, so a fleet of only slow nodes still serves.
   */
  private admit(nodeId: string, lastResort: boolean): 'allowed' | 'probe' | 'rejected' {
    const breaker = this.breakers.get(nodeId);
    const admission = breaker.admit();
    if (admission === 'rejected' && lastResort && breaker.state() === 'probation') return 'allowed';
    return admission;
  }

  /**
   * Feeds a finished lease to the learning store and the node's breaker. A client error (400,
   * 404, 405, 413, 422) is no evidence about the node, so learning skips it. A failed load of one
   * model is learned as a failure of that (node, model) but does not count towards the node's
   * breaker, so one broken model does not take the node's other models offline. `/api/show`
   * only reads model metadata, so its timing is not learned either.
   */
  private onFinish({ request, node, result }: FinishedLease): void {
    const kind = classifyResult(result);
    const breaker = this.breakers.get(node.id);
    if (kind === 'cancelled') {
      breaker.record({ ok: false, cancelled: true, latencyMs: result.latencyMs });
      return;
    }
    const taskType = request.taskType ?? 'chat';
    const before = this.learning.get(node.id, request.model, taskType);
    if (learnsFrom(request) && (kind === 'ok' || countsAgainstModel(kind))) this.learn(node.id, request, result, taskType);
    breaker.record({ ok: result.ok, status: result.status, error: result.error, latencyMs: result.latencyMs, expectedLatencyMs: expectedLatency(before, result.evalCount) });
    if (this.placementMayHaveChanged(request, node.id, result.ok)) {
      this.deps.onLoadedMayChange?.(node.id);
      this.readPlacementSoon(node.id);
    }
  }

  private learn(nodeId: string, request: FinishedLease['request'], result: FinishedLease['result'], taskType: TaskType): void {
    const tokensPerSec = result.evalCount && result.evalDurationNs ? result.evalCount / (result.evalDurationNs / 1e9) : undefined;
    this.learning.record({ nodeId, model: request.model, taskType, ok: result.ok, latencyMs: result.latencyMs, ttftMs: result.ttftMs, tokensPerSec });
    this.learning.saveSoon();
  }

  /**
   * Returns true when a finished request may have changed which models its node has loaded: it
   * failed, it set `keep_alive` to zero, or the node had no matching copy loaded before, so this
   * request loaded one, perhaps on the CPU. The health pass reads `/api/ps` in any case.
   */
  private placementMayHaveChanged(request: FinishedLease['request'], nodeId: string, ok: boolean): boolean {
    if (!ok || request.unloadsAfter) return true;
    const loaded = this.deps.nodes.loadedOf(nodeId);
    if (!loaded) return false;
    return loadFit(loaded, { model: request.model, options: request.options }) !== 'matching';
  }

  /**
   * Reads the node's `/api/ps` after a request, at most once per `psReadSpacingMs` per node.
   * The first request after a quiet spell reads at once, and a burst of finishes shares one
   * trailing read, so the reads do not double the gateway's work per request under load.
   */
  private readPlacementSoon(nodeId: string): void {
    const spacing = this.tuning.psReadSpacingMs ?? 250;
    const read = this.psReads.get(nodeId) ?? { lastAt: 0 };
    this.psReads.set(nodeId, read);
    if (read.timer) return;
    const run = () => {
      read.timer = undefined;
      read.lastAt = Date.now();
      void this.deps.nodes.refreshLoaded(nodeId);
      if (this.settings.value.controller) this.placement.afterRequest(nodeId);
    };
    const wait = read.lastAt + spacing - Date.now();
    if (wait <= 0) return run();
    read.timer = setTimeout(run, wait);
    read.timer.unref?.();
  }

  private onHealthPass(nodeId: string, previous: NodeHealth, current: NodeHealth): void {
    const up = current === 'up' || current === 'degraded';
    if (!up) return;
    if (this.settings.value.controller) {
      if (previous === 'down') this.placement.onNodeRecovered(nodeId);
      else this.placement.onHealthPass(nodeId);
    }
    this.maybeShadowProbe(nodeId);
  }

  /** Sends a shadow probe to a node on probation, at most one at a time per node. */
  private maybeShadowProbe(nodeId: string): void {
    if (this.probing.has(nodeId)) return;
    const breaker = this.breakers.get(nodeId);
    if (!breaker.shouldShadowProbe()) return;
    const node = this.deps.nodes.get(nodeId);
    const model = node?.loaded[0]?.name ?? node?.models.find((m) => !/embed/i.test(m.name))?.name;
    if (!node || !model) return;
    const taskType = 'generation';
    const learned = this.learning.get(nodeId, model, taskType);
    this.probing.add(nodeId);
    void sendShadowProbe({
      nodeId,
      url: node.url,
      model: node.models.find((m) => sameModel(m.name, model))?.name ?? model,
      breaker,
      expectedLatencyMs: learned.samples > 0 ? learned.ttftMs : undefined,
      timeoutMs: this.tuning.shadowProbeTimeoutMs ?? 30_000,
      log: this.log,
    }).finally(() => this.probing.delete(nodeId));
  }
}

/** Returns true when a request ran the model, so its timing and outcome show how the model performs on the node. */
function learnsFrom(request: FinishedLease['request']): boolean {
  return request.endpoint !== 'show' && request.taskType !== 'metadata';
}

/**
 * Estimates how long a finished request should have taken on a node from its learned TTFT and
 * tokens/s and the tokens it generated, so a long generation is not judged against the mean of
 * short ones. Falls back to the learned mean latency when the response carried no token count,
 * and to undefined (no judgement) while the node has no samples.
 */
function expectedLatency(learned: LearnedStats, evalCount: number | undefined): number | undefined {
  if (learned.samples === 0) return undefined;
  if (evalCount === undefined || learned.tokensPerSec <= 0) return learned.latencyMs;
  return learned.ttftMs + (evalCount / learned.tokensPerSec) * 1000;
}
