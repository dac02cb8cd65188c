import type { CandidateStats, ScoredCandidate, ScoringCandidate, ScoringRequest } from './candidate';

/**
 * Weights of the intelligent score. A candidate's score is the sum of these contributions:
 *
 *   resident   +30 when the model is loaded with matching num_ctx/num_gpu, +5 when loaded but a
 *              request option differs (the node would reload), 0 when not loaded. The CPU share
 *              of the copy counts divided by (1 + requests that would queue), so a CPU copy
 *              with a long queue does not outweigh an idle node that has to load the model
 *   gpu        +20 x GPU share of the loaded copy; when not loaded, +10 if the model fits in the
 *              known free VRAM (doubled for requests that prefer a GPU)
 *   speed      +25 x (0.5 + priority/10) x (best completion / this completion). Completion is
 *              the latency estimate (TTFT + expected output tokens / tokens per second) plus
 *              an estimated cold-load time when the model is not loaded (see estimateColdLoadMs),
 *              plus the queue wait: (requests that would queue) x the node's mean latency (or
 *              this request's latency when unknown) / parallel slots
 *   load       -25 x (1.1 - priority/10) x min(inFlight/parallel, 1), so low-priority work
 *              leaves busy nodes to high-priority work
 *   success    -20 x (1 - success rate)
 *   breaker    -30 half-open, -40 on probation (open nodes are excluded before scoring)
 */
export const weights = {
  residentMatch: 30,
  residentReload: 5,
  gpu: 20,
  fitsInFreeVram: 10,
  load: 25,
  speed: 25,
  success: 20,
  halfOpen: 30,
  probation: 40,
} as const;

/**
 * Milliseconds a cold load is assumed to add to a request on a node without the model loaded,
 * when the model size is unknown.
 */
export const coldLoadMs = 3_000;

/** Fixed part of a cold load in milliseconds (runner start, context allocation). */
const coldLoadBaseMs = 300;

/** Read speed assumed for model files, in bytes per second (an SSD or the page cache). */
const coldLoadBytesPerSec = 2e9;

/**
 * Estimates the milliseconds a cold load adds: 300 ms plus the file read at 2 GB/s, so about
 * 2.3 s for a 4 GB model and 0.3 s for a 5 MB one, or `coldLoadMs` when the size is unknown.
 * NOTE: an estimate; loads are not measured per node yet.
 */
export function estimateColdLoadMs(modelSizeBytes: number | undefined): number {
  if (modelSizeBytes === undefined || !Number.isFinite(modelSizeBytes) || modelSizeBytes <= 0) return coldLoadMs;
  return coldLoadBaseMs + (modelSizeBytes / coldLoadBytesPerSec) * 1000;
}

/** Stats assumed for a node with no observations: a middling CPU-class node. */
export const neutralStats: CandidateStats = { ttftMs: 1500, tokensPerSec: 15, successRate: 1, samples: 0 };

/** Estimated milliseconds to finish a request on a candidate. */
export function estimateLatencyMs(stats: CandidateStats, outputTokens: number): number {
  return stats.ttftMs + (outputTokens / Math.max(stats.tokensPerSec, 0.01)) * 1000;
}

function breakerPenalty(state: ScoringCandidate['breaker']): number {
  if (state === 'half_open') return -weights.halfOpen;
  if (state === 'probation') return -weights.probation;
  return 0;
}

/** Requests that would wait before this one gets a slot on the candidate. */
function queuedAhead(candidate: ScoringCandidate): number {
  return Math.max(0, candidate.inFlight - Math.max(1, candidate.parallel) + 1);
}

/**
 * Estimates milliseconds until a request finishes on a candidate: its own latency plus the wait
 * for a slot, taking each queued request ahead of it as one mean latency spread over the slots.
 */
export function estimateCompletionMs(candidate: ScoringCandidate, outputTokens: number): number {
  const stats = candidate.stats ?? neutralStats;
  const latency = estimateLatencyMs(stats, outputTokens);
  const perQueued = stats.latencyMs ?? latency;
  const load = candidate.loaded ? 0 : estimateColdLoadMs(candidate.modelSizeBytes);
  return load + latency + (queuedAhead(candidate) * perQueued) / Math.max(1, candidate.parallel);
}

/** Checks whether the resident copy would serve the request without a reload. */
export function optionsMatch(loaded: NonNullable<ScoringCandidate['loaded']>, request: ScoringRequest): boolean {
  const ctxOk = request.numCtx === undefined || loaded.contextLength === undefined || loaded.contextLength === request.numCtx;
  const gpuOk = request.numGpu === undefined || loaded.numGpu === request.numGpu;
  return ctxOk && gpuOk;
}

/** Scores every eligible candidate with the documented formula; pure. */
export function scoreCandidates(candidates: ScoringCandidate[], request: ScoringRequest): ScoredCandidate[] {
  const latencies = candidates.map((c) => estimateCompletionMs(c, request.expectedOutputTokens));
  const best = Math.min(...latencies);
  const priority = clamp(request.priority, 1, 10);
  const speedWeight = 0.5 + priority / 10;
  const loadWeight = 1.1 - priority / 10;

  return candidates.map((candidate, index) => {
    const factors: Record<string, number> = {};
    const loaded = candidate.loaded;
    const matches = loaded ? optionsMatch(loaded, request) : false;

    if (loaded) {
      const residentBonus = matches ? weights.residentMatch : weights.residentReload;
      // Waiting for a GPU copy beats a cold start elsewhere, but a CPU copy with a queue is not
      // worth waiting for: only the CPU share of the bonus shrinks with the queue.
      const gpuShare = clamp(loaded.gpuShare, 0, 1);
      factors.resident = residentBonus * (gpuShare + (1 - gpuShare) / (1 + queuedAhead(candidate)));
      factors.gpu = weights.gpu * clamp(loaded.gpuShare, 0, 1);
    } else {
      const fits = candidate.freeVramBytes !== undefined && candidate.modelSizeBytes !== undefined && candidate.freeVramBytes >= candidate.modelSizeBytes;
      const gpuBonus = request.prefersGpu ? 2 * weights.fitsInFreeVram : weights.fitsInFreeVram;
      factors.resident = 0;
      factors.gpu = fits ? gpuBonus : 0;
    }

    const parallel = Math.max(1, candidate.parallel);
    const queued = queuedAhead(candidate);
    factors.speed = weights.speed * speedWeight * (best / latencies[index]);
    factors.load = -weights.load * loadWeight * Math.min(candidate.inFlight / parallel, 1);
    factors.success = -weights.success * (1 - clamp((candidate.stats ?? neutralStats).successRate, 0, 1));
    factors.breaker = breakerPenalty(candidate.breaker);

    for (const key of Object.keys(factors)) factors[key] = round(factors[key]);
    const score = round(Object.values(factors).reduce((sum, v) => sum + v, 0));
    return { candidate, score, factors, reason: describe(candidate, matches, latencies[index], queued) };
  });
}

function describe(candidate: ScoringCandidate, matches: boolean, latencyMs: number, queued: number): string {
  const parts: string[] = [];
  const loaded = candidate.loaded;
  if (!loaded) parts.push('model not loaded');
  else if (!matches) parts.push(`loaded on ${loaded.placement} but options differ (reload)`);
  else parts.push(`loaded on ${loaded.placement}`);
  parts.push(`${candidate.inFlight}/${Math.max(1, candidate.parallel)} busy${queued > 0 ? `, ${queued} would queue` : ''}`);
  parts.push(`~${Math.round(latencyMs)} ms expected${candidate.stats && candidate.stats.samples > 0 ? '' : ' (prior)'}`);
  if (candidate.breaker !== 'closed') parts.push(`breaker ${candidate.breaker.replace('_', '-')}`);
  return parts.join(', ');
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
