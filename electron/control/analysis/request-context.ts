import { z } from 'zod';
import type { Endpoint } from '../router/port';
import { classifyTask, type TaskType } from './task-type';
import { estimateTokensByChars, perMessageOverheadTokens, type TokenCounter } from './tokens';

export type Complexity = 'low' | 'medium' | 'high';

/** Routing context of one request: the facts the router reads before it picks a node. */
export type RequestContext = {
  endpoint: Endpoint;
  /** True for the OpenAI-compatible `/v1/...` paths. */
  openAi: boolean;
  model: string;
  taskType: TaskType;
  /** Estimated prompt tokens, including the per-message overhead for chat. */
  promptTokens: number;
  /** Requested output tokens (`num_predict` or `max_tokens`) when the client set a limit. */
  maxOutputTokens?: number;
  complexity: Complexity;
  /** 1 (lowest) to 10 (highest). */
  priority: number;
  /** Reason the priority fell back to the default; absent when the client's value was valid. */
  priorityNote?: string;
  /** True when the request should run on a GPU to finish in reasonable time. */
  prefersGpu: boolean;
  stream: boolean;
  /** The request's `options` object, passed through for scoring (num_ctx, num_gpu). */
  options: Record<string, unknown>;
};

export type AnalyzeInput = {
  /** The URL path, e.g. `/api/chat` or `/v1/chat/completions`. */
  path: string;
  body: unknown;
  headers?: Record<string, string | string[] | undefined>;
  /** A priority set by an in-process caller (agents); the header wins when both are present. */
  priority?: number;
};

export type AnalyzeResult = { ok: true; context: RequestContext } | { ok: false; error: string };

export const defaultPriority = 5;
export const priorityHeader = 'x-synaptic-priority';

const pathTable: Record<string, { endpoint: Endpoint; openAi: boolean }> = {
  '/api/chat': { endpoint: 'chat', openAi: false },
  '/api/generate': { endpoint: 'generate', openAi: false },
  '/api/embed': { endpoint: 'embed', openAi: false },
  '/api/embeddings': { endpoint: 'embeddings', openAi: false },
  '/api/show': { endpoint: 'show', openAi: false },
  '/v1/chat/completions': { endpoint: 'chat', openAi: true },
  '/v1/completions': { endpoint: 'generate', openAi: true },
  '/v1/embeddings': { endpoint: 'embed', openAi: true },
};

const bodySchema = z.looseObject({
  model: z.string({ error: 'model is required' }).min(1, 'model is required'),
});

/**
 * Builds the routing context of a request from its path, body and headers. Pure: no clock and
 * no I/O. Returns an error naming the bad value for an unknown path or a body without a model.
 */
export function analyzeRequest(input: AnalyzeInput, countTokens: TokenCounter = estimateTokensByChars): AnalyzeResult {
  const route = pathTable[input.path];
  if (!route) return { ok: false, error: `unsupported endpoint '${input.path}'` };
  if (typeof input.body !== 'object' || input.body === null || Array.isArray(input.body)) {
    return { ok: false, error: 'request body must be a JSON object' };
  }
  const parsed = bodySchema.safeParse(input.body);
  if (!parsed.success) return { ok: false, error: 'model is required' };
  const body = parsed.data as Record<string, unknown>;

  const text = collectText(route.endpoint, body);
  const promptTokens = text.parts.reduce((sum, part) => sum + countTokens(part), 0) + text.messages * perMessageOverheadTokens;
  const kind = taskKind(route.endpoint);
  const taskType = classifyTask(kind, text.instruction, body.format !== undefined || body.response_format !== undefined);
  const options = isRecord(body.options) ? body.options : {};
  const maxOutputTokens = positiveNumber(options.num_predict) ?? positiveNumber(body.max_tokens) ?? positiveNumber(body.max_completion_tokens);
  const { priority, note } = resolvePriority(input.headers, input.priority);
  const complexity = rateComplexity(taskType, promptTokens, maxOutputTokens);

  return {
    ok: true,
    context: {
      endpoint: route.endpoint,
      openAi: route.openAi,
      model: body.model as string,
      taskType,
      promptTokens,
      ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
      complexity,
      priority,
      ...(note ? { priorityNote: note } : {}),
      prefersGpu: taskType !== 'embedding' && taskType !== 'metadata' && (complexity !== 'low' || priority >= 8),
      stream: route.openAi ? body.stream === true : body.stream !== false,
      options,
    },
  };
}

/**
 * Reads the priority from `X-Synaptic-Priority`, else from the caller, else 5. A value that is
 * not an integer from 1 to 10 falls back to 5 with a note naming the value.
 */
export function resolvePriority(
  headers: Record<string, string | string[] | undefined> | undefined,
  callerPriority: number | undefined,
): { priority: number; note?: string } {
  const raw = headerValue(headers, priorityHeader);
  if (raw !== undefined) {
    const value = Number(raw.trim());
    if (raw.trim() !== '' && Number.isInteger(value) && value >= 1 && value <= 10) return { priority: value };
    return { priority: defaultPriority, note: `invalid X-Synaptic-Priority '${raw}': expected an integer from 1 to 10, using ${defaultPriority}` };
  }
  if (callerPriority !== undefined) {
    if (Number.isInteger(callerPriority) && callerPriority >= 1 && callerPriority <= 10) return { priority: callerPriority };
    return { priority: defaultPriority, note: `invalid priority ${callerPriority}: expected an integer from 1 to 10, using ${defaultPriority}` };
  }
  return { priority: defaultPriority };
}

/**
 * Rates how heavy a request is. High: over 2000 prompt tokens, over 1000 requested output
 * tokens, or analysis or code work over 500 prompt tokens. Low: under 200 prompt tokens for
 * chat, classification, extraction, embedding or metadata with no large output limit. Medium otherwise.
 */
export function rateComplexity(taskType: TaskType, promptTokens: number, maxOutputTokens: number | undefined): Complexity {
  if (promptTokens > 2000 || (maxOutputTokens ?? 0) > 1000) return 'high';
  if ((taskType === 'analysis' || taskType === 'code') && promptTokens > 500) return 'high';
  const lightTask =
    taskType === 'chat' || taskType === 'classification' || taskType === 'extraction' || taskType === 'embedding' || taskType === 'metadata';
  if (lightTask && promptTokens < 200 && (maxOutputTokens ?? 0) <= 256) return 'low';
  return 'medium';
}

type CollectedText = { parts: string[]; messages: number; instruction: string };

function collectText(endpoint: Endpoint, body: Record<string, unknown>): CollectedText {
  if (endpoint === 'chat') {
    const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
    const contents = messages.map((m) => contentText(m.content));
    const system = messages.filter((m) => m.role === 'system').map((m) => contentText(m.content));
    const users = messages.filter((m) => m.role === 'user');
    const lastUser = users.length > 0 ? contentText(users[users.length - 1].content) : '';
    return { parts: contents, messages: messages.length, instruction: [...system, lastUser].join('\n') };
  }
  if (endpoint === 'generate') {
    const prompt = typeof body.prompt === 'string' ? body.prompt : '';
    const system = typeof body.system === 'string' ? body.system : '';
    return { parts: [system, prompt], messages: 0, instruction: `${system}\n${prompt}` };
  }
  const input = body.input ?? body.prompt;
  const parts = typeof input === 'string' ? [input] : Array.isArray(input) ? input.filter((x): x is string => typeof x === 'string') : [];
  return { parts, messages: 0, instruction: '' };
}

/** Text of a message's content: a string (Ollama) or an array of parts (OpenAI). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .filter(isRecord)
      .map((part) => (typeof part.text === 'string' ? part.text : ''))
      .join('\n');
  }
  return '';
}

function headerValue(headers: AnalyzeInput['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

function taskKind(endpoint: Endpoint): 'chat' | 'generate' | 'embed' | 'show' {
  if (endpoint === 'chat') return 'chat';
  if (endpoint === 'generate') return 'generate';
  if (endpoint === 'show') return 'show';
  return 'embed';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}
