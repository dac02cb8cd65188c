/** Exponentially weighted moving average: `alpha` is the weight of the new value. */
export function ewma(previous: number, value: number, alpha: number): number {
  return previous + alpha * (value - previous);
}

/** Nearest-rank percentile of `values` for `q` in [0, 1]; NaN for an empty list. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}
