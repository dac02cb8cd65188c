import type { LearnedStats } from './learning-store';

/** Facts about a model on a node that are known before any request has run there. */
export type PriorHint = {
  /** Size of the model file in bytes, from the node's `/api/tags`. */
  modelSizeBytes?: number;
  /**
   * Share of the model in GPU memory, 0 to 1: the loaded copy's size_vram / size, or an
   * expectation when the model is not loaded (1 when it fits in known free VRAM, 0 on a CPU node).
   */
  gpuShare?: number;
};

/**
 * Memory bandwidth in bytes per second that generation reaches. Each generated token reads every
 * weight once, so tokens/s is about bandwidth / model size.
 * NOTE: estimates for a desktop-class machine (dual-channel DDR5, a consumer GPU); a node's own
 * samples replace them after a few requests.
 */
export const cpuBytesPerSec = 40e9;
export const gpuBytesPerSec = 400e9;

/** Fastest generation the prior assumes; tiny models are bound by per-token overhead, not memory. */
export const maxPriorTokensPerSec = 1000;

/** Fixed part of the time to first token, in milliseconds (HTTP, template, sampling set-up). */
const ttftBaseMs = 50;

/** The prompt is processed in batches, so its cost is taken as this many generated tokens. */
const promptCostInTokens = 20;

/** Output tokens a request is assumed to produce when the prior sets the mean request latency. */
const priorOutputTokens = 256;

/** Prior for a model whose size is unknown: a middling CPU-class node, tried but not preferred. */
export const unknownSizePrior: LearnedStats = { ttftMs: 1500, tokensPerSec: 15, latencyMs: 6000, successRate: 1, samples: 0 };

/**
 * Estimates the stats of a model on a node that has no samples for it, from the model size and
 * the share of it in GPU memory. A 5 MB model on a CPU gets 1000 tokens/s (the cap), and a 4 GB
 * model about 9 on a CPU and 90 on a GPU. Without a size it returns `unknownSizePrior`. Pure.
 */
export function estimatePrior(hint: PriorHint = {}): LearnedStats {
  const size = hint.modelSizeBytes;
  if (size === undefined || !Number.isFinite(size) || size <= 0) return { ...unknownSizePrior };

  const gpuShare = Math.min(1, Math.max(0, hint.gpuShare ?? 0));
  const secondsPerToken = (gpuShare * size) / gpuBytesPerSec + ((1 - gpuShare) * size) / cpuBytesPerSec;
  const tokensPerSec = Math.min(maxPriorTokensPerSec, 1 / secondsPerToken);
  const msPerToken = 1000 / tokensPerSec;
  const ttftMs = ttftBaseMs + promptCostInTokens * msPerToken;
  return { ttftMs, tokensPerSec, latencyMs: ttftMs + priorOutputTokens * msPerToken, successRate: 1, samples: 0 };
}
