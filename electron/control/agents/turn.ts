import { randomUUID } from 'node:crypto';
import type { AgentMode, AgentStep, Conversation, ConversationTurn } from '../../../shared/types';
import type { EventBus } from '../core/event-bus';
import type { Logger } from '../core/logger';
import type { RouteLease, RouterPort } from '../router/port';
import type { ConversationStore } from './conversation-store';
import type { AgentDefinition, AgentSet } from './definitions';
import type { ChatLimits } from './node-chat';
import { answerFromOutput } from './output';
import { ProgressEmitter } from './progress';
import { buildMessages, type StepInputs } from './prompts';
import { runStep, type StepContext, type StepPlan } from './step-runner';

export type TurnRun = {
  router: RouterPort;
  bus: EventBus;
  log: Logger;
  store: ConversationStore;
  limits: ChatLimits;
  maxNodeAttempts: number;
  progressIntervalMs: number;
  conversation: Conversation;
  /** The turn to run, already appended to `conversation.turns`. */
  turn: ConversationTurn;
  /** Earlier turns of the conversation, replayed to the agents as chat history. */
  history: ConversationTurn[];
  agents: AgentSet;
  request: { question: string; model: string; mode: AgentMode; priority?: number };
  /** Lease claimed for the researcher's first call before the turn was stored. */
  researcherLease: RouteLease;
  signal: AbortSignal;
};

/**
 * Runs researcher, critic and editor for one turn and records the result in `run.turn`. In
 * pipeline mode each agent reads the steps before it. In parallel mode researcher and critic run
 * at once, each avoiding the other's node, and the editor merges both. A failed step does not
 * stop the turn, which fails only when the editor fails.
 */
export async function runTurn(run: TurnRun): Promise<void> {
  const { conversation, turn, request, agents, store } = run;
  const log = run.log.child({ conversationId: conversation.id, turnId: turn.id });
  const progress = new ProgressEmitter(run.bus, conversation.id, turn.id, run.progressIntervalMs);
  const context: StepContext = {
    router: run.router,
    log,
    limits: run.limits,
    maxNodeAttempts: run.maxNodeAttempts,
    priority: request.priority,
    signal: run.signal,
    onChange: (step, delta) => {
      if (delta !== undefined) progress.delta(step, delta);
      else progress.flush(step);
      conversation.updatedAt = new Date().toISOString();
      store.scheduleSave(conversation);
    },
  };
  const research = newStep(agents.researcher, request.model);
  const critique = newStep(agents.critic, request.model);
  const edit = newStep(agents.editor, request.model);
  turn.steps.push(research, critique, edit);
  const plan = (agent: AgentDefinition, step: AgentStep, inputs: StepInputs): StepPlan => ({
    agent,
    step,
    messages: buildMessages(agent, request.question, run.history, inputs),
  });
  log.info({ mode: request.mode, model: request.model }, 'Turn started');
  await store.save(conversation).catch(() => undefined);

  try {
    if (request.mode === 'parallel') {
      await Promise.all([
        runStep(context, {
          ...plan(agents.researcher, research, {}),
          firstLease: run.researcherLease,
          avoidNodes: () => (critique.nodeId ? [critique.nodeId] : []),
        }),
        runStep(context, {
          ...plan(agents.critic, critique, {}),
          avoidNodes: () => (research.nodeId ? [research.nodeId] : []),
        }),
      ]);
    } else {
      await runStep(context, { ...plan(agents.researcher, research, {}), firstLease: run.researcherLease });
      await runStep(context, plan(agents.critic, critique, { research }));
    }
    await runStep(context, plan(agents.editor, edit, { research, critique }));
  } finally {
    progress.dispose();
  }

  turn.status = edit.status === 'done' ? 'done' : 'error';
  if (edit.status === 'done') turn.answer = answerFromOutput(edit.output, edit.text);
  turn.finishedAt = new Date().toISOString();
  conversation.updatedAt = turn.finishedAt;
  log.info({ status: turn.status }, 'Turn finished');
  await store.save(conversation).catch(() => undefined);
}

function newStep(agent: AgentDefinition, turnModel: string): AgentStep {
  return {
    id: randomUUID(),
    agent: agent.role,
    status: 'pending',
    model: agent.model ?? turnModel,
    text: '',
    raw: false,
    retried: false,
  };
}
