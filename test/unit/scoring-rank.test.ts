import { describe, expect, it } from 'vitest';
import type { ScoringCandidate, ScoringRequest, Strategy } from '../../electron/control/scoring/candidate';
import { rankCandidates, createStrategyState } from '../../electron/control/scoring/rank';
import { scoreCandidates } from '../../electron/control/scoring/intelligent';
import { createSeededRandom } from '../../electron/control/scoring/seeded-random';

const base: ScoringCandidate = {
  nodeId: 'a',
  nodeName: 'a',
  healthy: true,
  hasModel: true,
  loaded: { placement: 'gpu', gpuShare: 1, contextLength: 4096 },
  inFlight: 0,
  parallel: 4,
  stats: { ttftMs: 200, tokensPerSec: 100, successRate: 1, samples: 20 },
  breaker: 'closed',
};
const node = (id: string, patch: Partial<ScoringCandidate>): ScoringCandidate => ({ ...base, nodeId: id, nodeName: id, ...patch });
const request: ScoringRequest = { priority: 5, prefersGpu: true, expectedOutputTokens: 100 };

function pick(candidates: ScoringCandidate[], req: Partial<ScoringRequest> = {}, strategy: Strategy = 'intelligent'): string | undefined {
  const ranking = rankCandidates({ strategy, model: 'm', request: { ...request, ...req }, candidates, random: createSeededRandom(1), state: createStrategyState() });
  return ranking.ranked[0]?.candidate.nodeId;
}

const neutralLike = { ttftMs: 1500, tokensPerSec: 15, successRate: 1, samples: 0 };

const table: Array<{ name: string; candidates: ScoringCandidate[]; request?: Partial<ScoringRequest>; expected: string }> = [
  { name: 'a node with the model loaded beats one without', candidates: [node('cold', { loaded: null }), node('warm', {})], expected: 'warm' },
  { name: 'a full GPU copy beats a CPU copy', candidates: [node('cpu', { loaded: { placement: 'cpu', gpuShare: 0 } }), node('gpu', {})], expected: 'gpu' },
  { name: 'a matching num_ctx beats a copy that would reload', candidates: [node('other-ctx', { loaded: { placement: 'gpu', gpuShare: 1, contextLength: 2048 } }), node('same-ctx', { loaded: { placement: 'gpu', gpuShare: 1, contextLength: 8192 } })], request: { numCtx: 8192 }, expected: 'same-ctx' },
  { name: 'a busy fast node loses to an idle equal node', candidates: [node('busy', { inFlight: 6 }), node('idle', {})], expected: 'idle' },
  { name: 'a loaded CPU copy with a queue loses to an idle cold node', candidates: [node('queued', { loaded: { placement: 'cpu', gpuShare: 0 }, inFlight: 4, parallel: 1, stats: { ttftMs: 200, tokensPerSec: 29.5, successRate: 1, samples: 10 } }), node('idle-cold', { loaded: null, stats: neutralLike })], expected: 'idle-cold' },
  { name: 'a faster node wins when both are idle', candidates: [node('slow', { stats: { ttftMs: 900, tokensPerSec: 20, successRate: 1, samples: 10 } }), node('fast', {})], expected: 'fast' },
  { name: 'a failing node loses to a reliable one', candidates: [node('flaky', { stats: { ...base.stats!, successRate: 0.2 } }), node('steady', { stats: { ...base.stats!, tokensPerSec: 80 } })], expected: 'steady' },
  { name: 'a half-open breaker loses to a closed one', candidates: [node('probe', { breaker: 'half_open' }), node('ok', { stats: { ...base.stats!, tokensPerSec: 70 } })], expected: 'ok' },
  { name: 'an open breaker is never chosen', candidates: [node('open', { breaker: 'open' }), node('slow', { stats: { ttftMs: 3000, tokensPerSec: 5, successRate: 1, samples: 5 } })], expected: 'slow' },
  { name: 'a node without the model is never chosen', candidates: [node('missing', { hasModel: false }), node('has', { loaded: null })], expected: 'has' },
  { name: 'a down node is never chosen', candidates: [node('down', { healthy: false }), node('up', { loaded: null })], expected: 'up' },
  { name: 'free VRAM that fits the model breaks a tie between cold nodes', candidates: [node('full', { loaded: null, freeVramBytes: 1e9, modelSizeBytes: 3e9 }), node('roomy', { loaded: null, freeVramBytes: 8e9, modelSizeBytes: 3e9 })], expected: 'roomy' },
];

describe('intelligent scoring', () => {
  for (const row of table) {
    it(row.name, () => {
      expect(pick(row.candidates, row.request)).toBe(row.expected);
    });
  }

  it('reports factors that add up to the score', () => {
    const [scored] = scoreCandidates([node('a', { inFlight: 2 })], request);
    const sum = Object.values(scored.factors).reduce((s, v) => s + v, 0);
    expect(scored.score).toBeCloseTo(sum, 6);
    expect(Object.keys(scored.factors).sort()).toEqual(['breaker', 'gpu', 'load', 'resident', 'speed', 'success']);
    expect(scored.reason).toContain('loaded on gpu');
  });

  it('weights speed more for high priority', () => {
    const low = scoreCandidates([node('a', {})], { ...request, priority: 1 })[0].factors.speed;
    const high = scoreCandidates([node('a', {})], { ...request, priority: 10 })[0].factors.speed;
    expect(high).toBeGreaterThan(low);
  });

  it('priority splits busy-fast and idle-slow', () => {
    const fastBusy = node('fast', { inFlight: 3, stats: { ttftMs: 100, tokensPerSec: 120, successRate: 1, samples: 50 } });
    const slowIdle = node('slow', { stats: { ttftMs: 400, tokensPerSec: 50, successRate: 1, samples: 50 } });
    expect(pick([fastBusy, slowIdle], { priority: 10 })).toBe('fast');
    expect(pick([fastBusy, slowIdle], { priority: 1 })).toBe('slow');
  });

  it('explains why nothing is eligible', () => {
    const ranking = rankCandidates({ strategy: 'intelligent', model: 'm', request, candidates: [node('x', { hasModel: false })], random: Math.random, state: createStrategyState() });
    expect(ranking.ranked).toHaveLength(0);
    expect(ranking.reason).toBe('no eligible node (x: model not on node)');
  });
});

describe('other strategies', () => {
  const fleet = [node('a', { inFlight: 3 }), node('b', { inFlight: 1, stats: { ttftMs: 100, tokensPerSec: 200, successRate: 1, samples: 9 } }), node('c', { inFlight: 0, stats: { ttftMs: 900, tokensPerSec: 10, successRate: 1, samples: 9 } })];

  it('round_robin cycles through eligible nodes per model', () => {
    const state = createStrategyState();
    const picks = Array.from({ length: 4 }, () => rankCandidates({ strategy: 'round_robin', model: 'm', request, candidates: fleet, random: Math.random, state }).ranked[0].candidate.nodeId);
    expect(picks).toEqual(['a', 'b', 'c', 'a']);
  });

  it('least_loaded picks the lowest utilisation', () => {
    expect(pick(fleet, {}, 'least_loaded')).toBe('c');
  });

  it('fastest picks the lowest expected latency regardless of load', () => {
    expect(pick(fleet, {}, 'fastest')).toBe('b');
  });

  it('random is reproducible with a seed', () => {
    const run = () => Array.from({ length: 6 }, (_, i) => rankCandidates({ strategy: 'random', model: 'm', request, candidates: fleet, random: createSeededRandom(42 + i), state: createStrategyState() }).ranked[0].candidate.nodeId);
    expect(run()).toEqual(run());
    expect(new Set(run()).size).toBeGreaterThan(1);
  });
});
