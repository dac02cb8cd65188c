import type { IncomingMessage, ServerResponse } from 'node:http';
import { abortOnClose, findModel, keepAliveMs, loadConfigFor, nowIso, type NodeContext } from './context';
import { grammarForFormat, runGeneration, type GenerationInput, type GenerationStats } from './generation';
import { HttpError, NdjsonWriter, readJsonBody, sendJson } from './http';
import { fitInput, promptBudget } from './prompt-fit';
import type { Lease } from './scheduler';
import { chatRequestSchema, generateRequestSchema, parseBody, requireModel, type ModelOptions } from './schemas';

type Kind = 'chat' | 'generate';

type Plan = {
  kind: Kind;
  model: string;
  stream: boolean;
  input: GenerationInput | null;
  format: '' | 'json' | Record<string, unknown> | undefined;
  options: ModelOptions;
  keepAlive: number;
  capabilities: Capabilities;
  /** Drop the oldest input that does not fit the context (Ollama's default) instead of rejecting it. */
  truncate: boolean;
};

type Capabilities = { tools?: boolean; thinking?: boolean; insert?: boolean };

/** POST /api/chat */
export async function handleChat(node: NodeContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = parseBody(chatRequestSchema, await readJsonBody(req));
  const messages = body.messages ?? [];
  await runPlan(node, res, {
    kind: 'chat',
    model: requireModel(body.model),
    stream: body.stream ?? true,
    input: messages.length > 0 ? { kind: 'chat', messages } : null,
    format: body.format,
    options: body.options ?? {},
    keepAlive: keepAliveMs(body.keep_alive),
    capabilities: { tools: (body.tools ?? []).length > 0, thinking: isThinkRequested(body.think) },
    truncate: body.truncate ?? true,
  });
}

/** POST /api/generate */
export async function handleGenerate(node: NodeContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = parseBody(generateRequestSchema, await readJsonBody(req));
  const prompt = body.prompt ?? '';
  let input: GenerationInput | null = null;
  if (prompt !== '') {
    input = body.raw ? { kind: 'raw', prompt } : { kind: 'prompt', prompt, system: body.system };
  }
  await runPlan(node, res, {
    kind: 'generate',
    model: requireModel(body.model),
    stream: body.stream ?? true,
    input,
    format: body.format,
    options: body.options ?? {},
    keepAlive: keepAliveMs(body.keep_alive),
    capabilities: { insert: (body.suffix ?? '') !== '', thinking: isThinkRequested(body.think) },
    truncate: body.truncate ?? true,
  });
}

async function runPlan(node: NodeContext, res: ServerResponse, plan: Plan): Promise<void> {
  const requestStart = process.hrtime.bigint();
  const entry = await findModel(node, plan.model);
  rejectUnsupported(plan.model, plan.capabilities);
  // Only a `format` needs the llama.cpp bindings before the load. Otherwise the load starts them,
  // so load_duration includes their start-up, as Ollama's includes the runner's.
  const grammar = plan.input && plan.format ? await grammarForFormat(await node.getLlama(), plan.format) : undefined;

  // No prompt or messages: keep_alive 0 unloads, anything else only loads (Ollama's behaviour).
  if (!plan.input && plan.keepAlive === 0) {
    await node.scheduler.unload(entry);
    sendJson(res, 200, { ...emptyReply(plan), done: true, done_reason: 'unload' });
    return;
  }

  const controller = abortOnClose(res);
  const lease = await node.scheduler.acquire(entry, loadConfigFor(node, plan.options), controller.signal);
  try {
    if (!plan.input) {
      sendJson(res, 200, { ...emptyReply(plan), done: true, done_reason: 'load' });
      return;
    }
    await generate(node, res, plan, lease, controller.signal, requestStart, grammar);
  } finally {
    lease.release(plan.keepAlive);
  }
}

async function generate(
  node: NodeContext,
  res: ServerResponse,
  plan: Plan,
  lease: Lease,
  signal: AbortSignal,
  requestStart: bigint,
  grammar: Awaited<ReturnType<typeof grammarForFormat>>,
): Promise<void> {
  const budget = promptBudget(lease.contextLength, plan.options.num_predict);
  const fitted = fitInput(lease.model, plan.input!, lease.contextLength, budget, plan.truncate);
  const writer = plan.stream ? new NdjsonWriter(res) : null;
  let text = '';
  const onText = (chunk: string) => {
    if (chunk === '') return;
    if (writer) writer.write(chunkReply(plan, chunk));
    else text += chunk;
  };

  let stats: GenerationStats;
  try {
    stats = await runGeneration({ lease, input: fitted.input, options: plan.options, grammar, signal, onText });
  } catch (error) {
    if (signal.aborted) {
      node.log.info({ model: plan.model, endpoint: plan.kind }, 'Generation cancelled: client disconnected');
      res.destroy();
      return;
    }
    if (!writer?.hasStarted) throw error;
    node.log.error({ err: error, model: plan.model }, 'Generation failed after the stream started');
    writer.write({ error: (error as Error).message });
    writer.end();
    return;
  }

  const final = {
    ...chunkReply(plan, writer ? '' : text),
    done: true,
    done_reason: stats.doneReason,
    ...(plan.kind === 'generate' ? { context: stats.contextTokens } : {}),
    total_duration: Number(process.hrtime.bigint() - requestStart),
    load_duration: lease.loadDurationNs,
    // A non-empty input never reports 0: when the token meter reads 0, the fitted input size is used.
    prompt_eval_count: stats.promptEvalCount > 0 ? stats.promptEvalCount : fitted.promptTokens,
    prompt_eval_duration: stats.promptEvalDurationNs,
    eval_count: stats.evalCount,
    eval_duration: stats.evalDurationNs,
  };
  if (writer) {
    writer.write(final);
    writer.end();
  } else {
    sendJson(res, 200, final);
  }
}

/**
 * Rejects features that need a model capability this node never reports (tools, thinking,
 * fill-in-the-middle), with a 400 as Ollama sends for a model that lacks the capability.
 */
function rejectUnsupported(model: string, wanted: Capabilities): void {
  for (const capability of ['tools', 'thinking', 'insert'] as const) {
    if (wanted[capability]) throw new HttpError(400, `"${model}" does not support ${capability}`);
  }
}

function isThinkRequested(think: boolean | string | undefined): boolean {
  return think === true || (typeof think === 'string' && think !== '' && think !== 'false');
}

function chunkReply(plan: Plan, text: string): Record<string, unknown> {
  if (plan.kind === 'chat') {
    return { model: plan.model, created_at: nowIso(), message: { role: 'assistant', content: text }, done: false };
  }
  return { model: plan.model, created_at: nowIso(), response: text, done: false };
}

function emptyReply(plan: Plan): Record<string, unknown> {
  return chunkReply(plan, '');
}
