import type { ExcludedCandidate, ScoredCandidate, ScoringCandidate, ScoringRequest, Strategy } from './candidate';
import { estimateLatencyMs, neutralStats, scoreCandidates } from './intelligent';
import type { RandomSource } from './seeded-random';

/** State a strategy keeps between calls; the router owns one per gateway. */
export type StrategyState = {
  /** Next round-robin position per model. */
  roundRobin: Map<string, number>;
};

export function createStrategyState(): StrategyState {
  return { roundRobin: new Map() };
}

export type RankInput = {
  strategy: Strategy;
  model: string;
  request: ScoringRequest;
  candidates: ScoringCandidate[];
  random: RandomSource;
  state: StrategyState;
};

export type Ranking = {
  /** Eligible candidates, best first for the chosen strategy. */
  ranked: ScoredCandidate[];
  excluded: ExcludedCandidate[];
  /** One line naming the choice and why; empty ranking explains why nothing is eligible. */
  reason: string;
};

/**
 * Filters out nodes that cannot serve the request (down, model missing, breaker open), scores
 * the rest with the intelligent formula, and orders them by the strategy. Every strategy keeps
 * the factors so the routing trace can show them. Mutates only `state` (round-robin cursor).
 */
export function rankCandidates(input: RankInput): Ranking {
  const excluded: ExcludedCandidate[] = [];
  const eligible: ScoringCandidate[] = [];
  for (const candidate of input.candidates) {
    const reason = exclusionReason(candidate);
    if (reason) excluded.push({ candidate, reason });
    else eligible.push(candidate);
  }
  if (eligible.length === 0) {
    const reason = excluded.length === 0 ? 'no nodes' : excluded.map((e) => `${e.candidate.nodeName}: ${e.reason}`).join('; ');
    return { ranked: [], excluded, reason: `no eligible node (${reason})` };
  }

  const scored = scoreCandidates(eligible, input.request);
  const ranked = order(input, scored);
  const top = ranked[0];
  return { ranked, excluded, reason: `${input.strategy}: ${top.candidate.nodeName} (${top.reason})` };
}

function exclusionReason(candidate: ScoringCandidate): string | undefined {
  if (!candidate.healthy) return 'node is down';
  if (!candidate.hasModel) return 'model not on node';
  if (candidate.breaker === 'open') return 'breaker open';
  return undefined;
}

function order(input: RankInput, scored: ScoredCandidate[]): ScoredCandidate[] {
  const byId = [...scored].sort((a, b) => a.candidate.nodeId.localeCompare(b.candidate.nodeId));
  switch (input.strategy) {
    case 'intelligent':
      return [...scored].sort((a, b) => b.score - a.score || a.candidate.nodeId.localeCompare(b.candidate.nodeId));
    case 'round_robin': {
      const position = input.state.roundRobin.get(input.model) ?? 0;
      input.state.roundRobin.set(input.model, position + 1);
      const start = position % byId.length;
      return [...byId.slice(start), ...byId.slice(0, start)];
    }
    case 'least_loaded':
      return byId.sort((a, b) => utilisation(a) - utilisation(b));
    case 'fastest':
      return byId.sort((a, b) => latency(a, input.request) - latency(b, input.request));
    case 'random': {
      const pool = [...byId];
      const result: ScoredCandidate[] = [];
      while (pool.length > 0) result.push(pool.splice(Math.floor(input.random() * pool.length), 1)[0]);
      return result;
    }
  }
}

function utilisation(entry: ScoredCandidate): number {
  return entry.candidate.inFlight / Math.max(1, entry.candidate.parallel);
}

function latency(entry: ScoredCandidate, request: ScoringRequest): number {
  return estimateLatencyMs(entry.candidate.stats ?? neutralStats, request.expectedOutputTokens);
}
