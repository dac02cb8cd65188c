import { z } from 'zod';
import { channel } from './channel';
import type { LayerMap } from './distributed';

/** Width of one live time-series bin, in milliseconds. */
export const METRICS_BIN_MS = 5_000;
/** Length of the live window kept in memory, in seconds. */
export const METRICS_WINDOW_SEC = 900;

/**
 * One time bin of one node's traffic. Latency and TTFT figures are in milliseconds and are
 * null when the bin saw no finished request (or no TTFT) to measure.
 */
export type MetricsPoint = {
  /** Start of the bin, in milliseconds since the Unix epoch. */
  t: number;
  /** Width of the bin in milliseconds (wider for points restored from disk). */
  spanMs: number;
  requests: number;
  errors: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  ttftP50Ms: number | null;
  /** Generated tokens per second of generation time, when the node reported token counts. */
  tokensPerSec: number | null;
  tokens: number;
  hedgesWon: number;
  hedgesCancelled: number;
};

export type NodeSeries = { nodeId: string; nodeName: string; points: MetricsPoint[] };

/**
 * Time series of the last `windowSec` seconds. Hedges are counted for the whole fleet (the
 * router publishes fleet-wide hedge counters), so they come as their own points, in which
 * only `t`, `spanMs`, `hedgesWon` and `hedgesCancelled` are meaningful.
 */
export type MetricsSeries = { at: number; binMs: number; windowSec: number; nodes: NodeSeries[]; hedgePoints: MetricsPoint[] };

export type PlacementActionView = {
  at: string;
  nodeId: string;
  nodeName: string;
  model: string;
  action: string;
  outcome: string;
  placement?: string;
  detail: string;
};

export type BreakerView = { nodeId: string; state: string; reason: string; at: string };

export type NodeMetricsSummary = {
  nodeId: string;
  nodeName: string;
  up: boolean;
  requestsTotal: number;
  errorsTotal: number;
  /** Requests per second over the last minute. */
  ratePerSec: number;
  breaker: string;
};

export type MetricsSnapshot = {
  at: number;
  binMs: number;
  nodes: NodeMetricsSummary[];
  hedges: { sent: number; won: number; cancelled: number; skipped: number };
  placementActions: PlacementActionView[];
  breakers: BreakerView[];
  /** Layer maps of distributed models, by distributed model id. */
  layers: Record<string, LayerMap>;
};

/** Payload of the `metrics:tick` event: at most one per second, with the bins that changed. */
export type MetricsTick = {
  at: number;
  binMs: number;
  updates: NodeSeries[];
  /** The latest fleet hedge bins, present when the hedge counters changed since the last tick. */
  hedgePoints?: MetricsPoint[];
  hedges: MetricsSnapshot['hedges'];
};

export const metricsSeriesInput = z
  .object({
    /** Seconds of history to return, counted back from now. */
    windowSec: z.number().int().min(1).max(METRICS_WINDOW_SEC).default(METRICS_WINDOW_SEC),
    nodeId: z.string().min(1).optional(),
  })
  .default({ windowSec: METRICS_WINDOW_SEC });

export const metricsChannels = {
  'metrics:series': channel(metricsSeriesInput)<MetricsSeries>(),
  'metrics:snapshot': channel(z.object({}).optional())<MetricsSnapshot>(),
};
