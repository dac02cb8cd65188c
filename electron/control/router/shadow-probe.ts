import type { Logger } from '../core/logger';
import type { NodeBreaker } from '../breaker/node-breaker';

export type ShadowProbeInput = {
  nodeId: string;
  url: string;
  model: string;
  breaker: NodeBreaker;
  /** Time a one-token generation normally takes on this node, in ms (the learned TTFT). */
  expectedLatencyMs?: number;
  timeoutMs: number;
  log: Logger;
};

/**
 * Sends one small generation (one output token, no stream) to a node on probation, off the
 * client path, and records its latency with the node's breaker. Never throws.
 */
export async function sendShadowProbe(input: ShadowProbeInput): Promise<void> {
  const started = performance.now();
  const body = { model: input.model, prompt: 'ping', stream: false, options: { num_predict: 1 } };
  try {
    const response = await fetch(`${input.url.replace(/\/$/, '')}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(input.timeoutMs),
    });
    await response.arrayBuffer();
    const latencyMs = performance.now() - started;
    input.breaker.record({ ok: response.ok, status: response.status, latencyMs, expectedLatencyMs: input.expectedLatencyMs });
    input.log.info({ nodeId: input.nodeId, model: input.model, status: response.status, latencyMs: Math.round(latencyMs) }, 'Shadow probe finished');
  } catch (error) {
    const latencyMs = performance.now() - started;
    input.breaker.record({ ok: false, latencyMs });
    input.log.warn({ nodeId: input.nodeId, model: input.model, err: (error as Error).message }, 'Shadow probe failed');
  }
}
