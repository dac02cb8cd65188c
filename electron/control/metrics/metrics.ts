import type { LayerMap } from '../../../shared/api/distributed';
import { displayModelName, parseModelName } from '../ollama-store/model-name';
import {
  METRICS_BIN_MS,
  METRICS_WINDOW_SEC,
  type BreakerView,
  type MetricsSeries,
  type MetricsSnapshot,
  type MetricsTick,
  type NodeSeries,
  type PlacementActionView,
} from '../../../shared/api/metrics';
import type { EventBus } from '../core/event-bus';
import type { Logger } from '../core/logger';
import { CounterSet, HistogramSet } from './counters';
import * as events from './event-schemas';
import { MetricsPersistence } from './persist';
import { renderPrometheusText, type MetricFamily } from './prometheus';
import { TimeBins } from './time-bins';

export type MetricsOptions = {
  bus: EventBus;
  log: Logger;
  /** Folder of `metrics.json`; no persistence when absent. */
  dataDir?: string;
  now?: () => number;
  /** Interval of `metrics:tick` events in milliseconds; 1000 by default. */
  tickMs?: number;
  /** Interval between saves of `metrics.json` in milliseconds; 30000 by default. */
  saveMs?: number;
};

type NodeInfo = { name: string; health: string; vram: Array<{ model: string; bytes: number }> };

const MAX_PLACEMENT_ACTIONS = 100;
const MAX_LAYER_MAPS = 50;
const MAX_SEEN_DECISIONS = 4_096;
const RATE_WINDOW_MS = 60_000;

/** Creates the metrics service; call `start()` to load history and begin ticking. */
export function createMetrics(options: MetricsOptions): Metrics {
  return new Metrics(options);
}

/**
 * Collects fleet metrics from bus events: per-node time series for the dashboard, counters and
 * histograms for Prometheus, recent placement actions, breaker states and layer maps. Pushes
 * one batched `metrics:tick` event per tick with the bins that changed since the last one.
 */
export class Metrics {
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly bins = new Map<string, TimeBins>();
  private readonly names = new Map<string, string>();
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly dirty = new Set<string>();
  private readonly seenDecisions = new Set<string>();
  private readonly requests = new CounterSet();
  private readonly tokens = new CounterSet();
  private readonly durations = new HistogramSet();
  private readonly ttfts = new HistogramSet();
  private readonly totals = new Map<string, { requests: number; errors: number }>();
  private readonly hedges = { sent: 0, won: 0, cancelled: 0, skipped: 0 };
  private readonly hedgeBins = new TimeBins(METRICS_BIN_MS, METRICS_WINDOW_SEC * 1000);
  private lastHedgeStats: events.HedgeStatsEvent | null = null;
  private readonly breakers = new Map<string, BreakerView>();
  private readonly placementActions: PlacementActionView[] = [];
  private readonly layerMaps = new Map<string, LayerMap>();
  private readonly persistence?: MetricsPersistence;
  private unsubscribe?: () => void;
  private tickTimer?: NodeJS.Timeout;
  private saveTimer?: NodeJS.Timeout;
  private hedgesChanged = false;
  private changedSinceSave = false;
  private invalidEvents = 0;

  constructor(private readonly options: MetricsOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log;
    if (options.dataDir) this.persistence = new MetricsPersistence(options.dataDir, this.log);
  }

  /** Loads the saved history, subscribes to the bus and starts the tick and save timers. */
  async start(): Promise<void> {
    if (this.unsubscribe) return;
    this.unsubscribe = this.options.bus.subscribe((type, payload) => this.onEvent(type, payload));
    if (this.persistence) {
      const saved = await this.persistence.load();
      for (const node of saved) {
        this.names.set(node.nodeId, node.nodeName);
        this.binsOf(node.nodeId).restore(node.points);
      }
      if (saved.length > 0) this.log.info({ nodes: saved.length, path: this.persistence.path }, 'Restored metrics history');
    }
    this.tickTimer = setInterval(() => this.tick(), this.options.tickMs ?? 1_000);
    this.tickTimer.unref();
    if (this.persistence) {
      this.saveTimer = setInterval(() => void this.save(), this.options.saveMs ?? 30_000);
      this.saveTimer.unref();
    }
  }

  /** Stops the timers and writes the history one last time. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.tickTimer);
    clearInterval(this.saveTimer);
    await this.save();
  }

  /** Writes `metrics.json` when anything changed since the last save; errors are logged. */
  async save(): Promise<void> {
    if (!this.persistence || !this.changedSinceSave) return;
    this.changedSinceSave = false;
    try {
      await this.persistence.save(this.series().nodes, this.now());
    } catch (error) {
      this.changedSinceSave = true;
      this.log.error({ err: error, path: this.persistence.path }, 'Failed to save metrics');
    }
  }

  /** Feeds one bus event; public so that tests and benchmarks can drive the service directly. */
  onEvent(type: string, payload: unknown): void {
    switch (type) {
      case 'route:decision':
        // The router sends each decision twice, and only the second copy (with its outcome)
        // counts, so the first is dropped before the costlier schema check.
        if (isUnfinishedDecision(payload)) break;
        this.parse(type, events.decisionEvent, payload, (decision) => this.onDecision(decision));
        break;
      case 'node:state':
        this.parse(type, events.nodeStateEvent, payload, (node) => this.onNodeState(node));
        break;
      case 'node:removed':
        this.parse(type, events.nodeRemovedEvent, payload, ({ id }) => this.nodes.delete(id));
        break;
      case 'breaker:state':
        this.parse(type, events.breakerEvent, payload, (event) =>
          this.breakers.set(event.nodeId, { nodeId: event.nodeId, state: event.to, reason: event.reason, at: event.at }),
        );
        break;
      case 'placement:action':
        this.parse(type, events.placementActionEvent, payload, (action) => {
          this.placementActions.push(action);
          if (this.placementActions.length > MAX_PLACEMENT_ACTIONS) this.placementActions.shift();
        });
        break;
      case 'distributed:layers':
        this.parse(type, events.layersEvent, payload, ({ id, layers }) => {
          this.layerMaps.delete(id);
          this.layerMaps.set(id, layers);
          if (this.layerMaps.size > MAX_LAYER_MAPS) this.layerMaps.delete(this.layerMaps.keys().next().value!);
        });
        break;
      case 'distributed:removed':
        this.parse(type, events.distributedRemovedEvent, payload, ({ id }) => this.layerMaps.delete(id));
        break;
      case 'hedge:stats':
        this.parse(type, events.hedgeStatsEvent, payload, (stats) => this.onHedgeStats(stats));
        break;
      default:
        break;
    }
  }

  /** Returns each node's points over the last `windowSec` seconds. */
  series(windowSec = METRICS_WINDOW_SEC, nodeId?: string): MetricsSeries {
    const now = this.now();
    const since = now - windowSec * 1000;
    const nodes: NodeSeries[] = [];
    for (const [id, bins] of this.bins) {
      if (nodeId !== undefined && id !== nodeId) continue;
      nodes.push({ nodeId: id, nodeName: this.nameOf(id), points: bins.points(since, now) });
    }
    return { at: now, binMs: METRICS_BIN_MS, windowSec, nodes, hedgePoints: this.hedgeBins.points(since, now) };
  }

  snapshot(): MetricsSnapshot {
    const now = this.now();
    const ids = new Set([...this.nodes.keys(), ...this.totals.keys()]);
    const nodes = [...ids].map((id) => {
      const totals = this.totals.get(id) ?? { requests: 0, errors: 0 };
      return {
        nodeId: id,
        nodeName: this.nameOf(id),
        up: this.nodes.get(id)?.health === 'up',
        requestsTotal: totals.requests,
        errorsTotal: totals.errors,
        ratePerSec: this.rate(id, now),
        breaker: this.breakers.get(id)?.state ?? 'closed',
      };
    });
    return {
      at: now,
      binMs: METRICS_BIN_MS,
      nodes,
      hedges: { ...this.hedges },
      placementActions: [...this.placementActions],
      breakers: [...this.breakers.values()],
      layers: Object.fromEntries(this.layerMaps),
    };
  }

  /** Builds the tick for the bins changed since the last call, or null when nothing changed. */
  takeTick(): MetricsTick | null {
    if (this.dirty.size === 0 && !this.hedgesChanged) return null;
    const now = this.now();
    // The previous bin is included so that a bin that closed since the last tick arrives final.
    const since = Math.floor(now / METRICS_BIN_MS) * METRICS_BIN_MS - METRICS_BIN_MS;
    const updates: NodeSeries[] = [];
    for (const id of this.dirty) {
      const bins = this.bins.get(id);
      if (bins) updates.push({ nodeId: id, nodeName: this.nameOf(id), points: bins.points(since, now) });
    }
    this.dirty.clear();
    const hedgePoints = this.hedgesChanged ? this.hedgeBins.points(since, now) : undefined;
    this.hedgesChanged = false;
    return { at: now, binMs: METRICS_BIN_MS, updates, ...(hedgePoints ? { hedgePoints } : {}), hedges: { ...this.hedges } };
  }

  renderPrometheus(): string {
    return renderPrometheusText(this.families());
  }

  private tick(): void {
    const tick = this.takeTick();
    if (tick) this.options.bus.emit('metrics:tick', tick);
  }

  private parse<T>(type: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: Error } }, payload: unknown, apply: (value: T) => void): void {
    const result = schema.safeParse(payload);
    if (!result.success) {
      this.invalidEvents += 1;
      // The first and then every 100th invalid event are logged, so a broken producer cannot flood the log.
      if (this.invalidEvents % 100 === 1) {
        this.log.warn({ event: type, count: this.invalidEvents, reason: result.error.message }, 'Skipped an invalid event');
      }
      return;
    }
    apply(result.data);
  }

  private onDecision(decision: events.DecisionEvent): void {
    // The router emits each decision once when routed and once more when it finishes.
    if (decision.outcome === undefined) return;
    if (this.seenDecisions.has(decision.id)) return;
    this.seenDecisions.add(decision.id);
    if (this.seenDecisions.size > MAX_SEEN_DECISIONS) this.seenDecisions.delete(this.seenDecisions.values().next().value!);

    const nodeId = decision.nodeId ?? 'none';
    if (decision.nodeId && decision.nodeName) this.names.set(decision.nodeId, decision.nodeName);
    // A client that left is not a failure of the node, so it counts as a request but not an error.
    const cancelled = decision.outcome === 'cancelled';
    const ok = decision.outcome === 'ok' || cancelled;
    const status = decision.status !== undefined ? String(decision.status) : decision.outcome;
    // A model no node has is whatever a client typed, so it gets no label set of its own.
    const model = decision.outcome === 'not_found' ? 'unknown' : modelLabel(decision.model);
    this.requests.add({ node: nodeId, model, endpoint: decision.endpoint, status });
    const totals = this.totals.get(nodeId) ?? { requests: 0, errors: 0 };
    totals.requests += 1;
    if (!ok) totals.errors += 1;
    this.totals.set(nodeId, totals);

    if (decision.nodeId === null) return;
    const labels = { node: nodeId, model };
    if (decision.latencyMs !== undefined) this.durations.observe(labels, decision.latencyMs / 1000);
    if (decision.ttftMs !== undefined) this.ttfts.observe(labels, decision.ttftMs / 1000);
    if (decision.evalCount) this.tokens.add(labels, decision.evalCount);
    const at = Date.parse(decision.at);
    this.binsOf(nodeId).record({
      // Bins are keyed by completion time; `at` is when the request was routed.
      at: Number.isFinite(at) && decision.latencyMs !== undefined ? at + decision.latencyMs : this.now(),
      ok,
      latencyMs: cancelled ? undefined : decision.latencyMs,
      ttftMs: decision.ttftMs,
      tokens: decision.evalCount,
      evalDurationNs: decision.evalDurationNs,
    });
    this.touch(nodeId);
  }

  private onNodeState(node: events.NodeStateEvent): void {
    this.names.set(node.id, node.name);
    this.nodes.set(node.id, {
      name: node.name,
      health: node.health,
      vram: node.loaded.map((model) => ({ model: model.name, bytes: model.sizeVramBytes })),
    });
  }

  /**
   * Adds the change since the previous `hedge:stats` event to the totals and the fleet bins. A
   * counter that went down means the producer restarted, so its values count from zero again.
   */
  private onHedgeStats(stats: events.HedgeStatsEvent): void {
    let previous = this.lastHedgeStats ?? { requests: 0, sent: 0, won: 0, cancelled: 0, skippedByBudget: 0 };
    const keys = ['sent', 'won', 'cancelled', 'skippedByBudget'] as const;
    if (keys.some((key) => stats[key] < previous[key])) previous = { requests: 0, sent: 0, won: 0, cancelled: 0, skippedByBudget: 0 };
    this.lastHedgeStats = stats;
    const won = stats.won - previous.won;
    const cancelled = stats.cancelled - previous.cancelled;
    this.hedges.sent += stats.sent - previous.sent;
    this.hedges.won += won;
    this.hedges.cancelled += cancelled;
    this.hedges.skipped += stats.skippedByBudget - previous.skippedByBudget;
    if (won > 0 || cancelled > 0) this.hedgeBins.recordHedges(this.now(), won, cancelled);
    this.hedgesChanged = true;
    this.changedSinceSave = true;
  }

  private touch(nodeId: string): void {
    this.dirty.add(nodeId);
    this.changedSinceSave = true;
  }

  private binsOf(nodeId: string): TimeBins {
    let bins = this.bins.get(nodeId);
    if (!bins) {
      bins = new TimeBins(METRICS_BIN_MS, METRICS_WINDOW_SEC * 1000);
      this.bins.set(nodeId, bins);
    }
    return bins;
  }

  private nameOf(id: string): string {
    return this.nodes.get(id)?.name ?? this.names.get(id) ?? id;
  }

  private rate(nodeId: string, now: number): number {
    const bins = this.bins.get(nodeId);
    if (!bins) return 0;
    const count = bins.points(now - RATE_WINDOW_MS, now).reduce((n, p) => n + p.requests, 0);
    return Math.round((count / (RATE_WINDOW_MS / 1000)) * 100) / 100;
  }

  private families(): MetricFamily[] {
    const nodeUp = [...this.nodes.entries()].map(([id, info]) => ({
      labels: { node: id, node_name: info.name },
      value: info.health === 'up' ? 1 : 0,
    }));
    const vram = [...this.nodes.entries()].flatMap(([id, info]) =>
      info.vram.map((entry) => ({ labels: { node: id, model: entry.model }, value: entry.bytes })),
    );
    const breakerStates = ['closed', 'open', 'half_open', 'probation'];
    const breakers = [...this.breakers.values()].flatMap((b) =>
      breakerStates.map((state) => ({ labels: { node: b.nodeId, state }, value: b.state === state ? 1 : 0 })),
    );
    return [
      { name: 'synaptic_requests_total', help: 'Finished gateway requests by node, model, endpoint and status (HTTP status, or the outcome when no status was sent).', type: 'counter', samples: this.requests.samples() },
      { name: 'synaptic_request_duration_seconds', help: 'Request duration from routing to the last byte, in seconds.', type: 'histogram', samples: this.durations.samples() },
      { name: 'synaptic_time_to_first_token_seconds', help: 'Time from routing to the first generated token, in seconds.', type: 'histogram', samples: this.ttfts.samples() },
      { name: 'synaptic_tokens_total', help: 'Tokens generated, as reported by the nodes (eval_count).', type: 'counter', samples: this.tokens.samples() },
      {
        name: 'synaptic_hedges_total',
        help: 'Hedged backup requests by result: sent, won (the backup produced the first byte), cancelled (the slower attempt of a hedged pair was aborted), skipped (budget exhausted).',
        type: 'counter',
        samples: (['sent', 'won', 'cancelled', 'skipped'] as const).map((result) => ({ labels: { result }, value: this.hedges[result] })),
      },
      { name: 'synaptic_breaker_state', help: 'Circuit breaker state per node: 1 for the current state, 0 for the others.', type: 'gauge', samples: breakers },
      { name: 'synaptic_node_up', help: 'Whether the last health check of the node succeeded (1) or not (0).', type: 'gauge', samples: nodeUp },
      { name: 'synaptic_model_vram_bytes', help: 'GPU memory used by each loaded model, in bytes (Ollama size_vram).', type: 'gauge', samples: vram },
    ];
  }
}

function isUnfinishedDecision(payload: unknown): boolean {
  return typeof payload === 'object' && payload !== null && (payload as { outcome?: unknown }).outcome === undefined;
}

/** Maximum length of a model label. A longer name is cut, so one client cannot bloat every scrape. */
const MAX_MODEL_LABEL = 256;

/** Returns a model name fit for a label: control characters other than line feeds removed, length capped. */
function modelLabel(name: string): string {
  // Spellings of one model (`llama3.2`, ` Llama3.2:latest`) share the name `ollama list` shows,
  // in lower case because Ollama compares names without case.
  const parsed = parseModelName(name);
  if (parsed) return displayModelName(parsed).toLowerCase();
  // A line feed stays: the text format escapes it, and a test checks that escape.
  const printable = name.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '');
  return printable.length > MAX_MODEL_LABEL ? `${printable.slice(0, MAX_MODEL_LABEL)}...` : printable;
}
