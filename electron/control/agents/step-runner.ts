import type { Message } from 'ollama';
import type { AgentStep } from '../../../shared/types';
import type { Logger } from '../core/logger';
import type { RequestResult, RouteLease, RouterPort } from '../router/port';
import type { AgentDefinition } from './definitions';
import { NodeChatError, streamNodeChat, type ChatLimits, type ChatReply } from './node-chat';
import { parseAgentOutput } from './output';
import { buildJsonRetryMessages } from './prompts';

export type StepContext = {
  router: RouterPort;
  log: Logger;
  limits: ChatLimits;
  /** Nodes tried per call before the step fails, counting the first. */
  maxNodeAttempts: number;
  priority?: number;
  signal: AbortSignal;
  /** Called after every change to the step, with `delta` set to text just appended. */
  onChange(step: AgentStep, delta?: string): void;
};

export type StepPlan = {
  agent: AgentDefinition;
  step: AgentStep;
  messages: Message[];
  /** A lease already claimed for this step's first call. */
  firstLease?: RouteLease;
  /** Nodes to avoid when another node can serve, e.g. the node a parallel step runs on. */
  avoidNodes?: () => string[];
};

/** A step failure whose message is shown to the user as the step's error. */
class StepFailure extends Error {}

/**
 * Runs one agent step to completion and records the outcome in `plan.step` instead of throwing.
 * A reply that is not schema-valid JSON is requested once more with the reason in the prompt.
 * If the second reply is still invalid, its text is kept and marked raw.
 */
export async function runStep(context: StepContext, plan: StepPlan): Promise<void> {
  const { step, agent } = plan;
  const startedAt = performance.now();
  step.status = 'running';
  context.onChange(step);

  try {
    let reply = await callWithFailover(context, plan, plan.messages, plan.firstLease);
    let parsed = parseAgentOutput(reply.text, agent.schema);
    if (!parsed.ok) {
      context.log.info({ stepId: step.id, agent: step.agent, reason: parsed.error }, 'Retrying step for valid JSON');
      step.retried = true;
      const retryMessages = buildJsonRetryMessages(plan.messages, reply.text, parsed.error);
      reply = await callWithFailover(context, plan, retryMessages, undefined);
      parsed = parseAgentOutput(reply.text, agent.schema);
    }
    if (parsed.ok) {
      step.output = parsed.value;
      step.status = 'done';
    } else if (reply.text.trim().length === 0) {
      throw new StepFailure(`${step.model} returned an empty reply twice`);
    } else {
      step.raw = true;
      step.status = 'done';
    }
  } catch (error) {
    step.status = 'error';
    step.error = error instanceof Error ? error.message : String(error);
    context.log.warn({ stepId: step.id, agent: step.agent, nodeId: step.nodeId, error: step.error }, 'Agent step failed');
  } finally {
    step.latencyMs = Math.round(performance.now() - startedAt);
    context.onChange(step);
  }
}

/**
 * Sends one chat call, moving to another node when a node fails before its first chunk. A
 * failure after the first chunk ends the step, because part of the reply was already shown.
 * `firstLease`, when given, serves the first attempt and is always finished here.
 */
async function callWithFailover(
  context: StepContext,
  plan: StepPlan,
  messages: Message[],
  firstLease: RouteLease | undefined,
): Promise<ChatReply> {
  const { step, agent } = plan;
  const tried: string[] = [];
  const failures: string[] = [];

  for (let attempt = 1; attempt <= context.maxNodeAttempts; attempt += 1) {
    if (context.signal.aborted) {
      if (attempt === 1 && firstLease) finishLease(context, firstLease, { ok: false, latencyMs: 0, cancelled: true });
      throw new StepFailure('the turn was cancelled');
    }
    const lease = attempt === 1 && firstLease ? firstLease : claimLease(context, plan, tried, attempt, failures);

    context.onChange(step);
    step.nodeId = lease.node.id;
    step.nodeName = lease.node.name;
    step.text = '';
    context.onChange(step);

    const callStartedAt = performance.now();
    let result: RequestResult = { ok: false, latencyMs: 0 };
    try {
      const reply = await streamNodeChat(
        { nodeUrl: lease.node.url, model: step.model, messages, format: agent.schema, options: agent.options },
        context.limits,
        context.signal,
        (delta) => {
          step.text += delta;
          context.onChange(step, delta);
        },
      );
      result = {
        ok: true,
        latencyMs: Math.round(performance.now() - callStartedAt),
        ttftMs: reply.ttftMs,
        evalCount: reply.completionTokens,
        evalDurationNs: reply.evalDurationNs,
      };
      step.promptTokens = addCount(step.promptTokens, reply.promptTokens);
      step.completionTokens = addCount(step.completionTokens, reply.completionTokens);
      return reply;
    } catch (error) {
      const chatError = error instanceof NodeChatError ? error : new NodeChatError(String(error), true, '');
      result = {
        ok: false,
        latencyMs: Math.round(performance.now() - callStartedAt),
        error: chatError.message,
        cancelled: chatError.cancelled,
        status: chatError.status,
      };
      if (chatError.cancelled) throw new StepFailure('the turn was cancelled');
      if (chatError.started) throw new StepFailure(`${lease.node.name} failed mid-stream: ${chatError.message}`);
      // Every node rejects an invalid request body (such as a broken schema) the same way.
      if (chatError.status === 400) throw new StepFailure(`${lease.node.name} rejected the request: ${chatError.message}`);
      failures.push(`${lease.node.name}: ${chatError.message}`);
      tried.push(lease.node.id);
      context.log.warn(
        { stepId: step.id, nodeId: lease.node.id, attempt, error: chatError.message },
        'Node failed before its first chunk; trying another node',
      );
    } finally {
      finishLease(context, lease, result);
    }
  }
  throw new StepFailure(`all ${failures.length} attempts failed (${failures.join('; ')})`);
}

/** Claims a node, avoiding the nodes in `plan.avoidNodes` only while another node can serve. */
function claimLease(
  context: StepContext,
  plan: StepPlan,
  tried: string[],
  attempt: number,
  failures: string[],
): RouteLease {
  const model = plan.step.model;
  const avoid = (plan.avoidNodes?.() ?? []).filter((id) => !tried.includes(id));
  const request = { endpoint: 'chat' as const, model, priority: context.priority, attempt };
  let outcome = context.router.route({ ...request, exclude: [...tried, ...avoid] });
  if (outcome.kind !== 'routed' && avoid.length > 0) {
    outcome = context.router.route({ ...request, exclude: tried });
  }
  if (outcome.kind === 'routed') return outcome.lease;
  const earlier = failures.length > 0 ? ` after ${failures.join('; ')}` : '';
  throw new StepFailure(`${describeRefusal(model, outcome.message)}${earlier}`);
}

/** Builds the message for a model that no node can serve, naming the model exactly once. */
export function describeRefusal(model: string, routerMessage: string): string {
  if (routerMessage.includes(`'${model}'`)) return routerMessage;
  return `no node can serve model '${model}': ${routerMessage}`;
}

function finishLease(context: StepContext, lease: RouteLease, result: RequestResult): void {
  try {
    lease.finish(result);
  } catch (error) {
    context.log.error({ nodeId: lease.node.id, err: error }, 'Router lease finish failed');
  }
}

function addCount(total: number | undefined, value: number | undefined): number | undefined {
  if (value === undefined) return total;
  return (total ?? 0) + value;
}
