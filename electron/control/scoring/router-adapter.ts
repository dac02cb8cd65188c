import type { RankFunction, Ranking, RankedCandidate, LoadFit } from '../router/score';
import { sameModel } from '../ollama-store/model-name';
import type { TaskType } from '../analysis/task-type';
import type { BreakerBoard } from '../breaker/breaker-board';
import type { LearningStore } from '../learning/learning-store';
import type { PriorHint } from '../learning/prior';
import type { ScoringCandidate, ScoringRequest, Strategy } from './candidate';
import { optionsMatch } from './intelligent';
import { createStrategyState, rankCandidates } from './rank';
import type { RandomSource } from './seeded-random';

export type ClosedLoopRankOptions = {
  strategy: () => Strategy;
  learning?: LearningStore;
  breakers?: BreakerBoard;
  /** Generation slots of a node (OLLAMA_NUM_PARALLEL); 1 when unknown. */
  parallelOf?: (nodeId: string) => number | undefined;
  /** GPU memory of a node in bytes, from user settings, when known. */
  gpuVramOf?: (nodeId: string) => number | undefined;
  random?: RandomSource;
  /** Task type, output length and priority assumed when the request does not carry them. */
  taskType?: TaskType;
  expectedOutputTokens?: number;
  priority?: number;
};

/**
 * Adapts the closed-loop scoring to the router's `RankFunction` hook (`router.rank = ...`).
 * Priority, task type and expected output length come from the request when the gateway's
 * analysis set them, else from these options. Each ranked candidate carries its score and
 * factor contributions, which the router copies into `RouteDecision.factors`.
 */
export function createClosedLoopRank(options: ClosedLoopRankOptions): RankFunction {
  const state = createStrategyState();
  const random = options.random ?? Math.random;
  return (nodes, request, exclude) => {
    const ranking: Ranking = { ranked: [], unavailable: [], lacking: [] };
    const candidates: ScoringCandidate[] = [];
    const taskType = request.taskType ?? options.taskType ?? 'chat';
    const scoringRequest: ScoringRequest = {
      priority: request.priority ?? options.priority ?? 5,
      prefersGpu: request.prefersGpu ?? true,
      expectedOutputTokens: request.expectedOutputTokens ?? options.expectedOutputTokens ?? 256,
      numCtx: typeof request.options?.num_ctx === 'number' ? request.options.num_ctx : undefined,
      numGpu: typeof request.options?.num_gpu === 'number' ? request.options.num_gpu : undefined,
    };

    for (const node of nodes) {
      const pulled = node.models.find((m) => sameModel(m.name, request.model));
      if (!pulled) {
        ranking.lacking.push({ id: node.id, name: node.name });
        continue;
      }
      if (exclude.has(node.id)) {
        ranking.unavailable.push({ id: node.id, name: node.name, reason: 'already tried for this request' });
        continue;
      }
      const copy = node.loaded.find((m) => sameModel(m.name, request.model));
      const vram = options.gpuVramOf?.(node.id);
      const usedVram = node.loaded.reduce((sum, m) => sum + m.sizeVramBytes, 0);
      const freeVram = vram !== undefined ? Math.max(0, vram - usedVram) : undefined;
      const learned = options.learning?.get(node.id, request.model, taskType, priorHint(pulled.sizeBytes, copy, freeVram));
      const healthy = node.health === 'up' || node.health === 'degraded';
      if (!healthy) {
        ranking.unavailable.push({ id: node.id, name: node.name, reason: `node is ${node.health}` });
        continue;
      }
      candidates.push({
        nodeId: node.id,
        nodeName: node.name,
        healthy,
        hasModel: true,
        loaded: copy ? { placement: copy.placement, gpuShare: copy.sizeBytes > 0 ? copy.sizeVramBytes / copy.sizeBytes : 0, contextLength: copy.contextLength } : null,
        ...(freeVram !== undefined ? { freeVramBytes: freeVram } : {}),
        modelSizeBytes: pulled.sizeBytes,
        inFlight: node.inFlight,
        parallel: options.parallelOf?.(node.id) ?? 1,
        ...(learned ? { stats: { ttftMs: learned.ttftMs, tokensPerSec: learned.tokensPerSec, successRate: learned.successRate, latencyMs: learned.latencyMs, samples: learned.samples } } : {}),
        breaker: options.breakers?.state(node.id) ?? 'closed',
      });
    }

    const result = rankCandidates({ strategy: options.strategy(), model: request.model, request: scoringRequest, candidates, random, state });
    for (const excluded of result.excluded) {
      ranking.unavailable.push({ id: excluded.candidate.nodeId, name: excluded.candidate.nodeName, reason: excluded.reason });
    }
    for (const entry of result.ranked) {
      const node = nodes.find((n) => n.id === entry.candidate.nodeId)!;
      const loaded = entry.candidate.loaded;
      const fit: LoadFit = !loaded ? 'not_loaded' : optionsMatch(loaded, scoringRequest) ? 'matching' : 'mismatched';
      const ranked: RankedCandidate = {
        id: node.id,
        name: node.name,
        fit,
        health: node.health,
        inFlight: node.inFlight,
        ewmaLatencyMs: node.ewmaLatencyMs,
        reason: `score ${entry.score}: ${entry.reason}`,
        score: entry.score,
        factors: entry.factors,
      };
      ranking.ranked.push(ranked);
    }
    return ranking;
  };
}

/**
 * Builds the facts the learning prior may use about a model on a node: its file size, and its GPU
 * share from the loaded copy, or 1 when the model fits in the node's known free VRAM, else 0.
 */
function priorHint(
  sizeBytes: number | undefined,
  copy: { sizeBytes: number; sizeVramBytes: number } | undefined,
  freeVramBytes: number | undefined,
): PriorHint {
  // The loaded size also counts the KV cache, so the file size is the better measure of the weights.
  if (copy) return { modelSizeBytes: sizeBytes ?? copy.sizeBytes, gpuShare: copy.sizeBytes > 0 ? copy.sizeVramBytes / copy.sizeBytes : 0 };
  const fits = sizeBytes !== undefined && freeVramBytes !== undefined && freeVramBytes >= sizeBytes;
  return { modelSizeBytes: sizeBytes, gpuShare: fits ? 1 : 0 };
}
