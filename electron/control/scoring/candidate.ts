import type { Placement } from '../../../shared/types';

export type BreakerState = 'closed' | 'open' | 'half_open' | 'probation';

/** Learned performance of a model on a node (see learning/learning-store.ts). */
export type CandidateStats = {
  ttftMs: number;
  tokensPerSec: number;
  /** 0 to 1. */
  successRate: number;
  /** Mean total latency of requests on this node, which sets how long a queued request waits. */
  latencyMs?: number;
  /** Observations behind the numbers; 0 means they are priors. */
  samples: number;
};

/** Everything scoring reads about one node for one request. Plain data, built by the router. */
export type ScoringCandidate = {
  nodeId: string;
  nodeName: string;
  healthy: boolean;
  hasModel: boolean;
  /** The model's resident copy on this node, from the node's `/api/ps`; null when not loaded. */
  loaded: null | {
    placement: Placement;
    /** size_vram / size, 0 to 1. */
    gpuShare: number;
    contextLength?: number;
    /** The `num_gpu` the copy was loaded with, when the router has recorded it. */
    numGpu?: number;
  };
  /** Free GPU memory in bytes when known. */
  freeVramBytes?: number;
  modelSizeBytes?: number;
  inFlight: number;
  /** Requests the node generates at once (OLLAMA_NUM_PARALLEL), at least 1. */
  parallel: number;
  stats?: CandidateStats;
  breaker: BreakerState;
};

/** The request-side inputs of scoring. */
export type ScoringRequest = {
  priority: number;
  /** The request's `options.num_ctx` / `options.num_gpu`, when set. */
  numCtx?: number;
  numGpu?: number;
  prefersGpu: boolean;
  /** Output tokens expected, used to turn TTFT and tokens/s into one latency estimate. */
  expectedOutputTokens: number;
};

export type ScoredCandidate = {
  candidate: ScoringCandidate;
  score: number;
  /** Each factor's contribution; the contributions add up to `score`. */
  factors: Record<string, number>;
  reason: string;
};

export type ExcludedCandidate = { candidate: ScoringCandidate; reason: string };

export type Strategy = 'intelligent' | 'round_robin' | 'least_loaded' | 'fastest' | 'random';
export const strategies: readonly Strategy[] = ['intelligent', 'round_robin', 'least_loaded', 'fastest', 'random'];
