import type { NodeHealth } from '../../../shared/types';
import type { ProbeReport } from './probe';

export type HealthVerdict = { health: Exclude<NodeHealth, 'unknown'>; problems: string[] };

/**
 * Classifies one health check. Down: the node did not answer `HEAD /` or any API probe.
 * Degraded: some probes failed or one took longer than `slowMs`. Up: everything answered in time.
 */
export function classifyProbe(report: ProbeReport, slowMs: number): HealthVerdict {
  const probes = [report.heartbeat, report.version, report.tags, report.ps];
  const problems: string[] = [];
  for (const probe of probes) {
    if (!probe.ok) problems.push(probe.error);
  }
  const failed = problems.length;
  if (failed === probes.length) return { health: 'down', problems };

  const slowest = Math.max(...probes.map((p) => p.elapsedMs));
  if (slowest > slowMs) problems.push(`slowest probe took ${Math.round(slowest)} ms (limit ${slowMs} ms)`);
  return { health: problems.length > 0 ? 'degraded' : 'up', problems };
}

/**
 * Returns the delay before the next health check. While a node is down the delay doubles with
 * each consecutive failure, starting from the normal interval and capped at `maxMs`.
 */
export function nextCheckDelay(
  health: NodeHealth,
  consecutiveFailures: number,
  intervalMs: number,
  maxMs: number,
): number {
  if (health !== 'down' || consecutiveFailures <= 1) return intervalMs;
  const exponent = Math.min(consecutiveFailures - 1, 20);
  return Math.min(intervalMs * 2 ** exponent, Math.max(maxMs, intervalMs));
}
