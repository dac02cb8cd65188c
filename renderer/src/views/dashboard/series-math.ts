import type { MetricsPoint, NodeSeries } from '../../../../shared/api/metrics';

/** Requests per second of `series` over the `windowMs` before `at`. */
export function requestRate(series: NodeSeries | undefined, at: number, windowMs = 60_000): number {
  if (!series) return 0;
  let requests = 0;
  for (const point of series.points) {
    if (point.t + point.spanMs > at - windowMs) requests += point.requests;
  }
  return requests / (windowMs / 1000);
}

/** One row per bin for recharts, with a time key and the node's figures. */
export type ChartRow = {
  t: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  ttft: number | null;
  tokensPerSec: number | null;
  rate: number;
  errors: number;
  hedgesWon: number;
  hedgesCancelled: number;
};

/**
 * Converts points to chart rows. The newest bin may still be open at `at`, so its rate is
 * divided by the time elapsed in it (at least one second), not by its full width.
 */
export function chartRows(points: MetricsPoint[], at = Infinity): ChartRow[] {
  return points.map((p) => ({
    t: p.t,
    p50: p.p50Ms,
    p95: p.p95Ms,
    p99: p.p99Ms,
    ttft: p.ttftP50Ms,
    tokensPerSec: p.tokensPerSec,
    rate: round(p.requests / (Math.max(1_000, Math.min(p.spanMs, at - p.t)) / 1000)),
    errors: p.errors,
    hedgesWon: p.hedgesWon,
    hedgesCancelled: p.hedgesCancelled,
  }));
}

/** Sums every node's bins and the fleet hedge bins by time, for the fleet-wide chart. */
export function fleetRows(all: NodeSeries[], at = Infinity, hedges: MetricsPoint[] = []): ChartRow[] {
  const byTime = new Map<number, ChartRow>();
  const hedgeSeries: NodeSeries = { nodeId: 'fleet', nodeName: 'fleet', points: hedges.map((p) => ({ ...p, requests: 0, errors: 0 })) };
  for (const series of [...all, hedgeSeries]) {
    for (const p of series.points) {
      const rate = p.requests / (Math.max(1_000, Math.min(p.spanMs, at - p.t)) / 1000);
      let sum = byTime.get(p.t);
      if (!sum) {
        sum = { t: p.t, p50: null, p95: null, p99: null, ttft: null, tokensPerSec: null, rate: 0, errors: 0, hedgesWon: 0, hedgesCancelled: 0 };
        byTime.set(p.t, sum);
      }
      sum.rate += rate;
      sum.errors += p.errors;
      sum.hedgesWon += p.hedgesWon;
      sum.hedgesCancelled += p.hedgesCancelled;
    }
  }
  const rows = [...byTime.values()].sort((a, b) => a.t - b.t);
  for (const row of rows) row.rate = round(row.rate);
  return rows;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
