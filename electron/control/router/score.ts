import type { NodeHealth, LoadedModel, NodeModel } from '../../../shared/types';
import { sameModel } from '../ollama-store/model-name';
import type { TaskType } from '../analysis/task-type';

/** What scoring reads about a node: plain data, no references into live state. */
export type CandidateSnapshot = {
  id: string;
  name: string;
  health: NodeHealth;
  models: NodeModel[];
  loaded: LoadedModel[];
  inFlight: number;
  ewmaLatencyMs?: number;
};

export type ScoreRequest = {
  model: string;
  options?: Record<string, unknown>;
  /** 1 (lowest) to 10; default 5. */
  priority?: number;
  taskType?: TaskType;
  expectedOutputTokens?: number;
  prefersGpu?: boolean;
};

/** How well a node's loaded copy of the model fits the request's options. */
export type LoadFit = 'matching' | 'mismatched' | 'not_loaded';

export type RankedCandidate = {
  id: string;
  name: string;
  fit: LoadFit;
  health: NodeHealth;
  inFlight: number;
  ewmaLatencyMs?: number;
  /** Human-readable summary, e.g. `loaded; 0 in flight; ewma 180ms`. */
  reason: string;
  /** Score of a scoring strategy, when it computes one. */
  score?: number;
  /** Each factor's contribution to `score`; they add up to it. */
  factors?: Record<string, number>;
};

export type Ranking = {
  /** Healthy nodes that hold the model, best first. */
  ranked: RankedCandidate[];
  /** Nodes that hold the model but cannot take it now (down, unknown, excluded). */
  unavailable: { id: string; name: string; reason: string }[];
  /** Nodes that do not hold the model. */
  lacking: { id: string; name: string }[];
};

/** A scoring function over snapshots; the closed-loop scorer can replace `rankCandidates`. */
export type RankFunction = (nodes: CandidateSnapshot[], request: ScoreRequest, exclude: ReadonlySet<string>) => Ranking;

const fitOrder: Record<LoadFit, number> = { matching: 0, mismatched: 1, not_loaded: 2 };

/**
 * Ranks the nodes that hold the requested model. Order: loaded copy whose options match, then
 * loaded with other options (a reload), then not loaded; then up before degraded; then fewer
 * requests in flight; then lower EWMA latency (unknown counts as 0 so new nodes get tried);
 * then node id, so equal nodes rank the same way every time.
 */
export const rankCandidates: RankFunction = (nodes, request, exclude) => {
  const ranking: Ranking = { ranked: [], unavailable: [], lacking: [] };
  for (const node of nodes) {
    if (!node.models.some((model) => sameModel(model.name, request.model))) {
      ranking.lacking.push({ id: node.id, name: node.name });
      continue;
    }
    if (exclude.has(node.id)) {
      ranking.unavailable.push({ id: node.id, name: node.name, reason: 'already tried for this request' });
      continue;
    }
    if (node.health !== 'up' && node.health !== 'degraded') {
      ranking.unavailable.push({ id: node.id, name: node.name, reason: `node is ${node.health}` });
      continue;
    }
    const fit = loadFit(node.loaded, request);
    ranking.ranked.push({
      id: node.id,
      name: node.name,
      fit,
      health: node.health,
      inFlight: node.inFlight,
      ewmaLatencyMs: node.ewmaLatencyMs,
      reason: describe(fit, node),
    });
  }
  ranking.ranked.sort(compareCandidates);
  return ranking;
};

function compareCandidates(a: RankedCandidate, b: RankedCandidate): number {
  return (
    fitOrder[a.fit] - fitOrder[b.fit] ||
    Number(a.health === 'degraded') - Number(b.health === 'degraded') ||
    a.inFlight - b.inFlight ||
    (a.ewmaLatencyMs ?? 0) - (b.ewmaLatencyMs ?? 0) ||
    a.id.localeCompare(b.id)
  );
}

/**
 * Compares the request's `num_ctx` with the loaded copy's context length, and `num_gpu: 0`
 * with a copy that sits on a GPU. Either difference makes the node reload the model.
 */
export function loadFit(loaded: readonly LoadedModel[], request: ScoreRequest): LoadFit {
  const copy = loaded.find((model) => sameModel(model.name, request.model));
  if (!copy) return 'not_loaded';
  const numCtx = request.options?.num_ctx;
  if (typeof numCtx === 'number' && copy.contextLength !== undefined && copy.contextLength !== numCtx) {
    return 'mismatched';
  }
  const numGpu = request.options?.num_gpu;
  if (numGpu === 0 && copy.placement !== 'cpu') return 'mismatched';
  if (typeof numGpu === 'number' && numGpu > 0 && copy.placement === 'cpu') return 'mismatched';
  return 'matching';
}

function describe(fit: LoadFit, node: CandidateSnapshot): string {
  const load = fit === 'matching' ? 'loaded' : fit === 'mismatched' ? 'loaded with other options' : 'not loaded';
  const parts = [load];
  if (node.health === 'degraded') parts.push('degraded');
  parts.push(`${node.inFlight} in flight`);
  parts.push(node.ewmaLatencyMs === undefined ? 'no latency yet' : `ewma ${Math.round(node.ewmaLatencyMs)}ms`);
  return parts.join('; ');
}
