import type { ScoredCandidate } from '../scoring/candidate';
import { optionsMatch } from '../scoring/intelligent';
import type { ScoringRequest } from '../scoring/candidate';

/**
 * Picks the backup node for a hedge from a ranking: the best-ranked node other than the primary
 * whose copy of the model is already loaded with matching options and which has a free slot.
 * A hedge to a cold node would pay a model load, so no such node means no hedge.
 */
export function pickHedgeTarget(ranked: ScoredCandidate[], primaryNodeId: string, request: ScoringRequest): ScoredCandidate | undefined {
  return ranked.find((entry) => {
    const c = entry.candidate;
    return c.nodeId !== primaryNodeId && c.loaded !== null && optionsMatch(c.loaded, request) && c.inFlight < Math.max(1, c.parallel);
  });
}
