import type { AgentMode, AgentProgress, AgentStep, Conversation, ConversationTurn } from '../../../shared/types';

/** Id of a conversation or turn that exists only in the renderer until the first event names it. */
export const DRAFT_ID = '';

/** Appends a draft turn for a question that was just sent. */
export function withDraftTurn(
  conversation: Conversation | null,
  question: string,
  model: string,
  mode: AgentMode,
  nowIso: string,
): Conversation {
  const base: Conversation = conversation ?? {
    id: DRAFT_ID,
    title: question.slice(0, 80),
    createdAt: nowIso,
    updatedAt: nowIso,
    turns: [],
  };
  const turn: ConversationTurn = {
    id: DRAFT_ID,
    question,
    model,
    mode,
    startedAt: nowIso,
    steps: [],
    status: 'running',
  };
  return { ...base, updatedAt: nowIso, turns: [...base.turns, turn] };
}

/**
 * Merges a step update. Events carry the step's full state, and `delta` carries newly
 * generated text. When the step's text lags behind what was already shown, the delta is
 * appended instead, so text never jumps backwards.
 */
export function mergeStep(existing: AgentStep | undefined, incoming: AgentStep, delta?: string): AgentStep {
  if (!existing) return delta && !incoming.text ? { ...incoming, text: delta } : incoming;
  const text = incoming.text.length >= existing.text.length ? incoming.text : existing.text + (delta ?? '');
  return { ...existing, ...incoming, text };
}

/**
 * Applies one `agent:progress` event to the open conversation. A draft conversation or turn
 * takes the ids from the first event while a send is in flight. Returns null when the event
 * belongs to another conversation.
 */
export function applyProgress(
  conversation: Conversation | null,
  progress: AgentProgress,
  sending: boolean,
): Conversation | null {
  if (!conversation) return null;
  const adopts = conversation.id === DRAFT_ID && sending;
  if (conversation.id !== progress.conversationId && !adopts) return null;

  const turns = conversation.turns.slice();
  let index = turns.findIndex((turn) => turn.id === progress.turnId);
  // The newest draft is the turn in flight. Older drafts are sends that failed before any event.
  if (index === -1) index = turns.findLastIndex((turn) => turn.id === DRAFT_ID);
  if (index === -1) {
    turns.push({
      id: progress.turnId,
      question: '',
      model: progress.step.model,
      mode: 'pipeline',
      startedAt: new Date().toISOString(),
      steps: [],
      status: 'running',
    });
    index = turns.length - 1;
  }

  const turn = turns[index];
  const steps = turn.steps.slice();
  const stepIndex = steps.findIndex((step) => step.id === progress.step.id);
  if (stepIndex === -1) steps.push(mergeStep(undefined, progress.step, progress.delta));
  else steps[stepIndex] = mergeStep(steps[stepIndex], progress.step, progress.delta);
  turns[index] = { ...turn, id: progress.turnId, steps };

  return { ...conversation, id: progress.conversationId, turns };
}
