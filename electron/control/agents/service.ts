import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { z } from 'zod';
import type { sendInput, AgentDefinitionView } from '../../../shared/api/chat';
import type { Conversation, ConversationTurn } from '../../../shared/types';
import { ApiFailure } from '../core/api-registry';
import type { EventBus } from '../core/event-bus';
import type { Logger } from '../core/logger';
import type { RouterPort } from '../router/port';
import { ErrorCodes } from '../../../shared/result';
import { ConversationStore } from './conversation-store';
import { conversationIdPattern } from './conversation-schema';
import { loadAgents, type AgentDefinition, type AgentSet } from './definitions';
import type { ChatLimits } from './node-chat';
import { describeRefusal } from './step-runner';
import { runTurn } from './turn';

export type SendRequest = z.output<typeof sendInput>;
export type SendResult = { conversationId: string; turnId: string; answer: string | null };

export type AgentServiceOptions = {
  router: RouterPort;
  bus: EventBus;
  dataDir: string;
  log: Logger;
  limits?: Partial<ChatLimits>;
  /** Nodes tried per chat call before a step fails (default 3). */
  maxNodeAttempts?: number;
  /** Minimum time between two progress events of one step, in ms (default 50). */
  progressIntervalMs?: number;
  /** Minimum time between two saves of a running conversation, in ms (default 500). */
  saveIntervalMs?: number;
};

export interface AgentService {
  /** Runs one turn of researcher, critic and editor, and resolves when the turn has finished. */
  send(request: SendRequest): Promise<SendResult>;
  list(): Promise<Conversation[]>;
  /** Throws ApiFailure `not_found` for an unknown id. */
  get(id: string): Promise<Conversation>;
  /** Cancels a running turn of the conversation, then removes it. */
  delete(id: string): Promise<{ deleted: boolean }>;
  agents(): Promise<AgentDefinitionView[]>;
  /** Cancels running turns and waits for pending writes. */
  close(): Promise<void>;
}

const defaultLimits: ChatLimits = {
  firstChunkTimeoutMs: 180_000,
  idleTimeoutMs: 60_000,
  maxReplyChars: 200_000,
  maxResponseBytes: 32 * 1024 * 1024,
};

/** Creates the agent service. Agents and conversations load from `dataDir` on first use. */
export function createAgentService(options: AgentServiceOptions): AgentService {
  const log = options.log.child({ component: 'agents' });
  const limits = { ...defaultLimits, ...options.limits };
  const store = new ConversationStore(join(options.dataDir, 'conversations'), log, options.saveIntervalMs ?? 500);
  const running = new Map<string, { controller: AbortController; done: Promise<unknown> }>();
  let agentSet: AgentSet | undefined;
  let loading: Promise<void> | undefined;
  let closed = false;

  const ready = () => {
    loading ??= (async () => {
      agentSet = await loadAgents(options.dataDir, log);
      await store.load();
    })().catch((error: unknown) => {
      // Let the next call try again, e.g. after the data folder became writable.
      loading = undefined;
      log.error({ err: error, dataDir: options.dataDir }, 'Failed to load agents and conversations');
      throw error;
    });
    return loading;
  };

  const requireConversation = (id: string): Conversation => {
    if (!conversationIdPattern.test(id)) {
      throw new ApiFailure(ErrorCodes.invalidArgument, `invalid conversation id '${id}': use an id from chat:list`);
    }
    const conversation = store.get(id);
    if (!conversation) throw new ApiFailure(ErrorCodes.notFound, `conversation '${id}' not found`);
    return conversation;
  };

  const send = async (request: SendRequest): Promise<SendResult> => {
    await ready();
    if (closed) throw new ApiFailure(ErrorCodes.unavailable, 'the agent service is shut down');
    const agents = agentSet as AgentSet;
    const existing = request.conversationId ? requireConversation(request.conversationId) : undefined;
    if (existing && running.has(existing.id)) {
      throw new ApiFailure(ErrorCodes.conflict, `conversation '${existing.id}' already has a turn running`);
    }

    // Claim the researcher's node before anything is stored, so an unservable model fails fast.
    const researcherModel = agents.researcher.model ?? request.model;
    const outcome = options.router.route({ endpoint: 'chat', model: researcherModel, priority: request.priority });
    if (outcome.kind !== 'routed') {
      throw new ApiFailure(ErrorCodes.unavailable, describeRefusal(researcherModel, outcome.message));
    }

    const now = new Date().toISOString();
    const conversation = existing ?? {
      id: randomUUID(),
      title: titleFrom(request.question),
      createdAt: now,
      updatedAt: now,
      turns: [],
    };
    const history = [...conversation.turns];
    const turn: ConversationTurn = {
      id: randomUUID(),
      question: request.question,
      model: request.model,
      mode: request.mode,
      startedAt: now,
      steps: [],
      status: 'running',
    };
    conversation.turns.push(turn);
    conversation.updatedAt = now;
    if (!existing) store.add(conversation);

    const controller = new AbortController();
    const done = runTurn({
      router: options.router,
      bus: options.bus,
      log,
      store,
      limits,
      maxNodeAttempts: options.maxNodeAttempts ?? 3,
      progressIntervalMs: options.progressIntervalMs ?? 50,
      conversation,
      turn,
      history,
      agents,
      request,
      researcherLease: outcome.lease,
      signal: controller.signal,
    });
    running.set(conversation.id, { controller, done });
    try {
      await done;
    } finally {
      running.delete(conversation.id);
    }
    return { conversationId: conversation.id, turnId: turn.id, answer: turn.answer ?? null };
  };

  return {
    send,
    async list() {
      await ready();
      return structuredClone(store.list());
    },
    async get(id) {
      await ready();
      return structuredClone(requireConversation(id));
    },
    async delete(id) {
      await ready();
      requireConversation(id);
      const turn = running.get(id);
      if (turn) {
        turn.controller.abort();
        await turn.done.catch(() => undefined);
      }
      return { deleted: await store.delete(id) };
    },
    async agents() {
      await ready();
      return Object.values(agentSet as AgentSet).map(toView);
    },
    async close() {
      closed = true;
      for (const turn of running.values()) turn.controller.abort();
      await Promise.all([...running.values()].map((turn) => turn.done.catch(() => undefined)));
      if (loading) await loading.catch(() => undefined);
      await store.flush();
    },
  };
}

function titleFrom(question: string): string {
  const line = question.trim().split('\n')[0].replace(/\s+/g, ' ');
  return line.length <= 80 ? line : `${line.slice(0, 79)}…`;
}

function toView(agent: AgentDefinition): AgentDefinitionView {
  return {
    name: agent.name,
    role: agent.role,
    systemPrompt: agent.systemPrompt,
    ...(agent.model ? { model: agent.model } : {}),
    options: { ...agent.options },
    schema: agent.schema,
  };
}
