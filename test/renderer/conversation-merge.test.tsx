// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { applyProgress, DRAFT_ID, mergeStep, withDraftTurn } from '../../renderer/src/store/conversation-merge';
import { gpuPercent } from '../../renderer/src/lib/format';
import type { AgentStep } from '../../shared/types';

function step(overrides: Partial<AgentStep> = {}): AgentStep {
  return { id: 's1', agent: 'researcher', status: 'running', model: 'm', text: '', raw: false, retried: false, ...overrides };
}

describe('mergeStep', () => {
  it.each([
    ['first event with only a delta', undefined, step(), 'Hel', 'Hel'],
    ['first event with full text', undefined, step({ text: 'Hello' }), 'o', 'Hello'],
    ['delta appended when text lags', step({ text: 'Hel' }), step(), 'lo', 'Hello'],
    ['full text replaces shorter text', step({ text: 'Hel' }), step({ text: 'Hello' }), 'lo', 'Hello'],
    ['no delta keeps earlier text', step({ text: 'Hello' }), step({ status: 'done' }), undefined, 'Hello'],
  ])('%s', (_name, existing, incoming, delta, expected) => {
    expect(mergeStep(existing, incoming, delta).text).toBe(expected);
  });

  it('takes status and figures from the event', () => {
    const merged = mergeStep(step({ text: 'x' }), step({ status: 'done', latencyMs: 9, nodeName: 'alpha' }));
    expect(merged.status).toBe('done');
    expect(merged.latencyMs).toBe(9);
    expect(merged.nodeName).toBe('alpha');
  });
});

describe('applyProgress', () => {
  const draft = withDraftTurn(null, 'why?', 'm', 'pipeline', '2026-01-01T00:00:00.000Z');

  it('draft conversation adopts ids while sending', () => {
    const next = applyProgress(draft, { conversationId: 'c1', turnId: 't1', step: step() }, true);
    expect(next?.id).toBe('c1');
    expect(next?.turns).toHaveLength(1);
    expect(next?.turns[0].id).toBe('t1');
    expect(next?.turns[0].question).toBe('why?');
    expect(next?.turns[0].steps).toHaveLength(1);
  });

  it('draft ignores events when not sending', () => {
    expect(draft.id).toBe(DRAFT_ID);
    expect(applyProgress(draft, { conversationId: 'c1', turnId: 't1', step: step() }, false)).toBeNull();
  });

  it('other conversations are ignored', () => {
    const open = { ...draft, id: 'c1' };
    expect(applyProgress(open, { conversationId: 'c2', turnId: 't1', step: step() }, true)).toBeNull();
  });

  it('newest draft turn takes the event', () => {
    const twice = withDraftTurn(draft, 'again?', 'm', 'pipeline', '2026-01-01T00:01:00.000Z');
    const next = applyProgress(twice, { conversationId: 'c1', turnId: 't2', step: step() }, true);
    expect(next?.turns.map((turn) => turn.id)).toEqual([DRAFT_ID, 't2']);
    expect(next?.turns[1].question).toBe('again?');
  });

  it('steps update in place by id', () => {
    let conversation = applyProgress(draft, { conversationId: 'c1', turnId: 't1', step: step() }, true);
    conversation = applyProgress(conversation, { conversationId: 'c1', turnId: 't1', step: step({ status: 'done', text: 'ok' }) }, true);
    conversation = applyProgress(conversation, { conversationId: 'c1', turnId: 't1', step: step({ id: 's2', agent: 'critic' }) }, true);
    expect(conversation?.turns[0].steps.map((entry) => entry.status)).toEqual(['done', 'running']);
    expect(conversation?.turns[0].steps.map((entry) => entry.agent)).toEqual(['researcher', 'critic']);
  });
});

describe('gpuPercent', () => {
  it.each([
    [1000, 1000, 100],
    [1000, 0, 0],
    [1000, 333, 33],
    [0, 0, 0],
    [1000, 2000, 100],
  ])('size %i with %i in VRAM is %i%%', (sizeBytes, sizeVramBytes, expected) => {
    expect(gpuPercent({ sizeBytes, sizeVramBytes })).toBe(expected);
  });
});
