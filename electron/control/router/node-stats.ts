import type { NodeFigures } from '../../../shared/types';

const ewmaWeight = 0.3;
const sampleWindow = 500;

/** Traffic figures for one node: in-flight count, EWMA latency and a window of recent latencies. */
export class NodeStats {
  inFlight = 0;
  requests = 0;
  errors = 0;
  ewmaLatencyMs: number | undefined;
  private readonly samples: number[] = [];

  begin(): void {
    this.inFlight += 1;
    this.requests += 1;
  }

  /** Records the end of a request; a cancelled request frees its slot but adds no latency sample. */
  end(result: { ok: boolean; latencyMs: number; cancelled?: boolean }): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (result.cancelled) return;
    if (!result.ok) {
      this.errors += 1;
      return;
    }
    this.ewmaLatencyMs =
      this.ewmaLatencyMs === undefined
        ? result.latencyMs
        : ewmaWeight * result.latencyMs + (1 - ewmaWeight) * this.ewmaLatencyMs;
    this.samples.push(result.latencyMs);
    if (this.samples.length > sampleWindow) this.samples.shift();
  }

  figures(nodeId: string, nodeName: string): NodeFigures {
    return {
      nodeId,
      nodeName,
      requests: this.requests,
      errors: this.errors,
      p50LatencyMs: percentile(this.samples, 0.5),
      p95LatencyMs: percentile(this.samples, 0.95),
      inFlight: this.inFlight,
    };
  }
}

/** Nearest-rank percentile of `values`; null when there are none. `q` is in [0, 1]. */
export function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}
