import type { RouteDecision } from '../../../shared/types';
import type { TaskType } from '../analysis/task-type';

/** Ollama endpoints the router distinguishes; OpenAI-compatible ones map onto these. */
export type Endpoint = 'chat' | 'generate' | 'embed' | 'embeddings' | 'show';

export type RouteRequest = {
  endpoint: Endpoint;
  /** The model name exactly as the client sent it. */
  model: string;
  /** 1 (lowest) to 10; default 5. */
  priority?: number;
  /** Node ids already tried for this request. */
  exclude?: string[];
  /** The request's `options` (num_ctx, num_gpu, ...), read only for scoring. */
  options?: Record<string, unknown>;
  attempt?: number;
  /** Kind of work, from request analysis; learned statistics are kept per task type. */
  taskType?: TaskType;
  /** Output tokens the request is expected to produce, for latency estimates. */
  expectedOutputTokens?: number;
  /** True when the request should run on a GPU (request analysis); default true. */
  prefersGpu?: boolean;
  /** Only nodes whose loaded copy of the model matches the request; used for hedges. */
  requireLoaded?: boolean;
  /** The request sets `keep_alive` to zero, so the node unloads the model when it is done. */
  unloadsAfter?: boolean;
};

export type NodeTarget = { id: string; name: string; url: string };

export type RequestResult = {
  ok: boolean;
  latencyMs: number;
  ttftMs?: number;
  status?: number;
  error?: string;
  cancelled?: boolean;
  /** The request failed before any output, so the gateway may try another node with it. */
  retried?: boolean;
  evalCount?: number;
  evalDurationNs?: number;
};

/** A claimed slot on a node; `finish` must be called exactly once, in a `finally`. */
export type RouteLease = {
  node: NodeTarget;
  decision: RouteDecision;
  finish(result: RequestResult): void;
};

export type RouteOutcome =
  | { kind: 'routed'; lease: RouteLease }
  | { kind: 'not_found'; message: string }
  | { kind: 'unavailable'; message: string };

/** What the gateway and the agents both use to pick a node. */
export interface RouterPort {
  route(request: RouteRequest): RouteOutcome;
}
