import type { DistributedModelView, LayerMap, RpcBackendView } from '../../../shared/api/distributed';
import {
  METRICS_BIN_MS,
  METRICS_WINDOW_SEC,
  type BreakerView,
  type MetricsSnapshot,
  type MetricsPoint,
  type MetricsTick,
  type NodeSeries,
  type PlacementActionView,
} from '../../../shared/api/metrics';
import type { LogLine } from '../../../shared/types';
import type { SliceContext } from './types';

/** Placement actions and log lines kept for the dashboard. */
export const MAX_PLACEMENT_ACTIONS = 100;
export const MAX_LOG_LINES = 300;

export type DashboardSlice = {
  /** Time series per node id, points oldest first. */
  series: Record<string, NodeSeries>;
  /** Fleet-wide hedge bins, oldest first. */
  hedgeSeries: MetricsPoint[];
  metricsBinMs: number;
  /** Newest time seen in metrics data, in ms since the epoch; the charts' right edge. */
  metricsAt: number;
  hedges: MetricsSnapshot['hedges'];
  placementActions: PlacementActionView[];
  breakers: Record<string, BreakerView>;
  layerMaps: Record<string, LayerMap>;
  rpcBackends: RpcBackendView[];
  distributedModels: DistributedModelView[];
  logLines: LogLine[];
  selectedNodeId: string | null;
  loadMetrics(): Promise<void>;
  loadDistributed(): Promise<void>;
  applyMetricsTick(tick: MetricsTick): void;
  applyPlacementAction(action: PlacementActionView): void;
  applyBreaker(event: { nodeId: string; to: string; reason?: string; at: string }): void;
  applyLayers(event: { id: string; layers: LayerMap }): void;
  applyRpcState(event: RpcBackendView | { endpoint: string; removed: true }): void;
  applyLogLine(line: LogLine): void;
  selectNode(id: string | null): void;
};

/** Replaces the points of `update` from its first point on, and drops points older than the window. */
export function mergeSeries(existing: NodeSeries | undefined, update: NodeSeries, at: number): NodeSeries {
  const oldest = at - METRICS_WINDOW_SEC * 1000;
  const first = update.points[0]?.t ?? Infinity;
  const kept = (existing?.points ?? []).filter((p) => p.t < first && p.t + p.spanMs > oldest);
  return { nodeId: update.nodeId, nodeName: update.nodeName, points: [...kept, ...update.points] };
}

export function createDashboardSlice({ client, set, get }: SliceContext): DashboardSlice {
  return {
    series: {},
    hedgeSeries: [],
    metricsBinMs: METRICS_BIN_MS,
    metricsAt: 0,
    hedges: { sent: 0, won: 0, cancelled: 0, skipped: 0 },
    placementActions: [],
    breakers: {},
    layerMaps: {},
    rpcBackends: [],
    distributedModels: [],
    logLines: [],
    selectedNodeId: null,
    async loadMetrics() {
      const [series, snapshot] = await Promise.all([
        client.invoke('metrics:series', { windowSec: METRICS_WINDOW_SEC }),
        client.invoke('metrics:snapshot', {}),
      ]);
      if (series.ok) {
        set({
          series: Object.fromEntries(series.value.nodes.map((node) => [node.nodeId, node])),
          hedgeSeries: series.value.hedgePoints,
          metricsBinMs: series.value.binMs,
          metricsAt: series.value.at,
        });
      }
      if (snapshot.ok) {
        set((state) => ({
          hedges: snapshot.value.hedges,
          placementActions: snapshot.value.placementActions.slice(-MAX_PLACEMENT_ACTIONS),
          breakers: Object.fromEntries(snapshot.value.breakers.map((b) => [b.nodeId, b])),
          layerMaps: { ...state.layerMaps, ...snapshot.value.layers },
          metricsAt: Math.max(state.metricsAt, snapshot.value.at),
        }));
      }
    },
    async loadDistributed() {
      const [backends, models] = await Promise.all([client.invoke('rpc:list', {}), client.invoke('distributed:list', {})]);
      if (backends.ok) set({ rpcBackends: backends.value });
      if (models.ok) {
        const layers: Record<string, LayerMap> = {};
        for (const model of models.value) if (model.layers) layers[model.id] = model.layers;
        set((state) => ({ distributedModels: models.value, layerMaps: { ...state.layerMaps, ...layers } }));
      }
    },
    applyMetricsTick(tick) {
      set((state) => {
        const series = { ...state.series };
        for (const update of tick.updates) series[update.nodeId] = mergeSeries(series[update.nodeId], update, tick.at);
        const hedgeSeries = tick.hedgePoints
          ? mergeSeries({ nodeId: 'fleet', nodeName: 'fleet', points: state.hedgeSeries }, { nodeId: 'fleet', nodeName: 'fleet', points: tick.hedgePoints }, tick.at).points
          : state.hedgeSeries;
        return { series, hedgeSeries, hedges: tick.hedges, metricsAt: Math.max(state.metricsAt, tick.at), metricsBinMs: tick.binMs };
      });
    },
    applyPlacementAction(action) {
      set((state) => ({ placementActions: [...state.placementActions, action].slice(-MAX_PLACEMENT_ACTIONS) }));
    },
    applyBreaker(event) {
      set((state) => ({
        breakers: { ...state.breakers, [event.nodeId]: { nodeId: event.nodeId, state: event.to, reason: event.reason ?? '', at: event.at } },
      }));
    },
    applyLayers(event) {
      set((state) => ({ layerMaps: { ...state.layerMaps, [event.id]: event.layers } }));
      // A layer map can belong to a model this renderer has not listed yet.
      if (!get().distributedModels.some((model) => model.id === event.id)) void get().loadDistributed();
    },
    applyRpcState(event) {
      set((state) => {
        const others = state.rpcBackends.filter((backend) => backend.endpoint !== event.endpoint);
        if ('removed' in event) return { rpcBackends: others };
        return { rpcBackends: [...others, event].sort((a, b) => a.endpoint.localeCompare(b.endpoint)) };
      });
    },
    applyLogLine(line) {
      set((state) => ({ logLines: [...state.logLines, line].slice(-MAX_LOG_LINES) }));
    },
    selectNode(id) {
      set({ selectedNodeId: id });
    },
  };
}
