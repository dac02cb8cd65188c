/** Restart policy: capped exponential backoff and a cap on restarts within a sliding window. */
export type RestartPolicy = {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Restarts allowed within `windowMs`; one more marks the process failed. */
  maxRestarts: number;
  windowMs: number;
};

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  baseDelayMs: 500,
  maxDelayMs: 15_000,
  maxRestarts: 5,
  windowMs: 10 * 60_000,
};

/**
 * Decides the next restart from the times of earlier restarts. Returns the delay, or null when
 * the window already contains `maxRestarts` restarts and the process should stay down.
 */
export function nextRestartDelay(restartTimes: number[], now: number, policy: RestartPolicy): number | null {
  const recent = restartTimes.filter((t) => now - t < policy.windowMs);
  if (recent.length >= policy.maxRestarts) return null;
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** recent.length);
}
