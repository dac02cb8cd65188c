import type { MetricsPoint } from '../../../shared/api/metrics';
import { quantile } from './histogram';

/** Latency samples kept per bin; later samples overwrite earlier ones round-robin. */
const MAX_SAMPLES_PER_BIN = 512;

/** One finished request, as the time series records it. */
export type RequestSample = {
  at: number;
  ok: boolean;
  latencyMs?: number;
  ttftMs?: number;
  tokens?: number;
  evalDurationNs?: number;
};

/** A bin that is still open collects raw samples; once closed it keeps only its summary. */
type Bin = {
  t: number;
  requests: number;
  errors: number;
  latencies: number[];
  ttfts: number[];
  tokens: number;
  generationSec: number;
  hedgesWon: number;
  hedgesCancelled: number;
  summary?: MetricsPoint;
};

function emptyBin(t: number): Bin {
  return { t, requests: 0, errors: 0, latencies: [], ttfts: [], tokens: 0, generationSec: 0, hedgesWon: 0, hedgesCancelled: 0 };
}

function addSample(list: number[], seen: number, value: number): void {
  if (list.length < MAX_SAMPLES_PER_BIN) list.push(value);
  else list[seen % MAX_SAMPLES_PER_BIN] = value;
}

function summarise(bin: Bin, binMs: number): MetricsPoint {
  const latencies = [...bin.latencies].sort((a, b) => a - b);
  const ttfts = [...bin.ttfts].sort((a, b) => a - b);
  return {
    t: bin.t,
    spanMs: binMs,
    requests: bin.requests,
    errors: bin.errors,
    p50Ms: quantile(latencies, 0.5),
    p95Ms: quantile(latencies, 0.95),
    p99Ms: quantile(latencies, 0.99),
    ttftP50Ms: quantile(ttfts, 0.5),
    tokensPerSec: bin.generationSec > 0 ? round(bin.tokens / bin.generationSec) : null,
    tokens: bin.tokens,
    hedgesWon: bin.hedgesWon,
    hedgesCancelled: bin.hedgesCancelled,
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * A ring of fixed-width time bins for one node. Bins older than the window are dropped as new
 * ones open, so memory stays at `windowMs / binMs` bins however long the process runs.
 */
export class TimeBins {
  private readonly bins: Bin[] = [];
  /** Points restored from disk; older than every live bin and never modified. */
  private restored: MetricsPoint[] = [];

  constructor(
    readonly binMs: number,
    readonly windowMs: number,
  ) {}

  record(sample: RequestSample): void {
    const bin = this.binAt(sample.at);
    if (!bin) return;
    bin.requests += 1;
    if (!sample.ok) bin.errors += 1;
    if (sample.latencyMs !== undefined && Number.isFinite(sample.latencyMs)) {
      addSample(bin.latencies, bin.requests - 1, sample.latencyMs);
    }
    if (sample.ttftMs !== undefined && Number.isFinite(sample.ttftMs)) {
      addSample(bin.ttfts, bin.requests - 1, sample.ttftMs);
    }
    if (sample.tokens !== undefined && sample.tokens > 0) {
      bin.tokens += sample.tokens;
      // Without the node's own generation time, the whole request duration is used in its place.
      const seconds = sample.evalDurationNs ? sample.evalDurationNs / 1e9 : (sample.latencyMs ?? 0) / 1000;
      bin.generationSec += seconds;
    }
    bin.summary = undefined;
  }

  recordHedges(at: number, won: number, cancelled: number): void {
    const bin = this.binAt(at);
    if (!bin) return;
    bin.hedgesWon += won;
    bin.hedgesCancelled += cancelled;
    bin.summary = undefined;
  }

  /** Replaces the restored history; points inside the live bins' range are ignored. */
  restore(points: MetricsPoint[]): void {
    this.restored = points.slice().sort((a, b) => a.t - b.t);
  }

  /** Returns the points that start at or after `since`, oldest first. */
  points(since: number, now: number): MetricsPoint[] {
    this.prune(now);
    const firstLive = this.bins[0]?.t ?? Infinity;
    const out: MetricsPoint[] = [];
    for (const point of this.restored) {
      if (point.t >= since && point.t + point.spanMs <= firstLive) out.push(point);
    }
    for (const bin of this.bins) {
      if (bin.t < since) continue;
      out.push(this.pointOf(bin, now));
    }
    return out;
  }

  /** True when no request or hedge was recorded in the window. */
  isEmpty(now: number): boolean {
    this.prune(now);
    return this.bins.length === 0 && this.restored.length === 0;
  }

  private pointOf(bin: Bin, now: number): MetricsPoint {
    if (bin.summary) return bin.summary;
    const point = summarise(bin, this.binMs);
    if (bin.t + this.binMs <= now) {
      // A closed bin never changes again, so its samples can go.
      bin.summary = point;
      bin.latencies = [];
      bin.ttfts = [];
    }
    return point;
  }

  private binAt(at: number): Bin | undefined {
    const t = Math.floor(at / this.binMs) * this.binMs;
    const last = this.bins[this.bins.length - 1];
    if (last && last.t === t) return last;
    if (!last || t > last.t) {
      const bin = emptyBin(t);
      this.bins.push(bin);
      this.prune(at);
      return bin;
    }
    // A late sample for an older bin: find it, or drop the sample when that bin is gone.
    for (let i = this.bins.length - 1; i >= 0; i--) {
      if (this.bins[i].t === t) return this.bins[i];
      if (this.bins[i].t < t) {
        const bin = emptyBin(t);
        this.bins.splice(i + 1, 0, bin);
        return bin;
      }
    }
    return undefined;
  }

  private prune(now: number): void {
    const oldest = now - this.windowMs;
    while (this.bins.length > 0 && this.bins[0].t + this.binMs <= oldest) this.bins.shift();
    while (this.restored.length > 0 && this.restored[0].t + this.restored[0].spanMs <= oldest) this.restored.shift();
  }
}

/**
 * Merges consecutive points into bins `factor` times wider, for the persisted history. Counts
 * add up. Percentiles of a merged bin are not computable from the parts, so the merged p50 is
 * the request-weighted mean of the parts' p50s and p95/p99 take the parts' maximum (an upper
 * estimate).
 */
export function downsample(points: MetricsPoint[], widthMs: number): MetricsPoint[] {
  const groups = new Map<number, MetricsPoint[]>();
  for (const point of points) {
    const t = Math.floor(point.t / widthMs) * widthMs;
    const group = groups.get(t) ?? [];
    group.push(point);
    groups.set(t, group);
  }
  const out: MetricsPoint[] = [];
  for (const [t, group] of [...groups.entries()].sort((a, b) => a[0] - b[0])) {
    out.push(mergePoints(t, widthMs, group));
  }
  return out;
}

function mergePoints(t: number, spanMs: number, group: MetricsPoint[]): MetricsPoint {
  const requests = sum(group, (p) => p.requests);
  const tokens = sum(group, (p) => p.tokens);
  const weighted = (pick: (p: MetricsPoint) => number | null): number | null => {
    let total = 0;
    let weight = 0;
    for (const point of group) {
      const value = pick(point);
      if (value === null) continue;
      const w = Math.max(1, point.requests);
      total += value * w;
      weight += w;
    }
    return weight === 0 ? null : round(total / weight);
  };
  const maximum = (pick: (p: MetricsPoint) => number | null): number | null => {
    const values = group.map(pick).filter((v): v is number => v !== null);
    return values.length === 0 ? null : Math.max(...values);
  };
  return {
    t,
    spanMs,
    requests,
    errors: sum(group, (p) => p.errors),
    p50Ms: weighted((p) => p.p50Ms),
    p95Ms: maximum((p) => p.p95Ms),
    p99Ms: maximum((p) => p.p99Ms),
    ttftP50Ms: weighted((p) => p.ttftP50Ms),
    tokensPerSec: weighted((p) => p.tokensPerSec),
    tokens,
    hedgesWon: sum(group, (p) => p.hedgesWon),
    hedgesCancelled: sum(group, (p) => p.hedgesCancelled),
  };
}

function sum(group: MetricsPoint[], pick: (p: MetricsPoint) => number): number {
  let total = 0;
  for (const point of group) total += pick(point);
  return total;
}
