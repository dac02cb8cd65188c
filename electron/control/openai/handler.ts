import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../core/logger';
import { sameModel } from '../ollama-store/model-name';
import { OpenAiError, openAiErrorBody } from './errors';
import {
  chatCompletionRequestSchema,
  completionRequestSchema,
  embeddingRequestSchema,
  parseOpenAiBody,
  toOllamaChat,
  toOllamaEmbed,
  toOllamaGenerate,
} from './requests';
import {
  chatCompletion,
  chatCompletionChunk,
  completionId,
  embeddingList,
  finishReasonOf,
  modelObject,
  textCompletion,
  textCompletionChunk,
  toolCallsOf,
  unixSeconds,
  usageChunk,
  usageOf,
  type CompletionHeader,
  type OllamaGenerationLine,
} from './responses';
import { SseWriter } from './sse';

/** Largest OpenAI request body read, in bytes. */
export const MAX_OPENAI_BODY_BYTES = 32 * 1024 * 1024;

export type OpenAiHandlerOptions = {
  /** Base URL of the Ollama API this layer translates to, e.g. the node's own loopback URL. */
  ollamaUrl: () => string;
  log: Logger;
};

/** Serves one `/v1/...` request; resolves false when the path is not an OpenAI route. */
export type OpenAiHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

type Context = { options: OpenAiHandlerOptions; req: IncomingMessage; res: ServerResponse; signal: AbortSignal };

/**
 * Creates the OpenAI-compatible routes `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`,
 * `/v1/models` and `/v1/models/{model}`. Each request is translated to the Ollama API at
 * `ollamaUrl` (`/api/chat`, `/api/generate`, `/api/embed`, `/api/tags`) over HTTP, and the reply
 * is translated back, so any server that speaks the Ollama API gains these routes.
 */
export function createOpenAiHandler(options: OpenAiHandlerOptions): OpenAiHandler {
  const log = options.log.child({ component: 'openai' });
  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    if (!path.startsWith('/v1/')) return false;
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const context: Context = { options: { ...options, log }, req, res, signal: controller.signal };
    try {
      await dispatch(context, path, req.method ?? 'GET');
    } catch (error) {
      replyWithError(context, error);
    }
    return true;
  };
}

async function dispatch(context: Context, path: string, method: string): Promise<void> {
  if (path === '/v1/models') {
    requireMethod(method, 'GET');
    return listModels(context);
  }
  if (path.startsWith('/v1/models/')) {
    requireMethod(method, 'GET');
    return retrieveModel(context, decodeURIComponent(path.slice('/v1/models/'.length)));
  }
  const handlers: Record<string, (context: Context, body: unknown) => Promise<void>> = {
    '/v1/chat/completions': chatCompletions,
    '/v1/completions': completions,
    '/v1/embeddings': embeddings,
  };
  const handler = handlers[path];
  if (!handler) throw new OpenAiError(404, `unknown OpenAI endpoint ${method} ${path}`);
  requireMethod(method, 'POST');
  await handler(context, await readBody(context.req));
}

async function chatCompletions(context: Context, body: unknown): Promise<void> {
  const request = parseOpenAiBody(chatCompletionRequestSchema, body);
  const header: CompletionHeader = { id: completionId('chatcmpl'), created: unixSeconds(), model: request.model };
  const response = await postOllama(context, '/api/chat', toOllamaChat(request));
  if (!request.stream) {
    let content = '';
    const final = await readLines(response, (line) => {
      content += line.message?.content ?? '';
    });
    return sendJson(context.res, 200, chatCompletion(header, content, final));
  }

  const writer = new SseWriter(context.res);
  await streamLines(context, writer, response, (line) => {
    const toolCalls = toolCallsOf(line);
    const delta: Record<string, unknown> = { role: 'assistant', content: line.message?.content ?? '' };
    if (toolCalls) delta.tool_calls = toolCalls;
    if (!line.done) {
      writer.write(chatCompletionChunk(header, delta, null));
      return;
    }
    writer.write(chatCompletionChunk(header, delta, finishReasonOf(line, toolCalls !== undefined)));
    if (request.stream_options?.include_usage) {
      writer.write(usageChunk(header, 'chat.completion.chunk', usageOf(line)));
    }
  });
}

async function completions(context: Context, body: unknown): Promise<void> {
  const request = parseOpenAiBody(completionRequestSchema, body);
  const header: CompletionHeader = { id: completionId('cmpl'), created: unixSeconds(), model: request.model };
  const response = await postOllama(context, '/api/generate', toOllamaGenerate(request));
  if (!request.stream) {
    let text = '';
    const final = await readLines(response, (line) => {
      text += line.response ?? '';
    });
    return sendJson(context.res, 200, textCompletion(header, text, final));
  }

  const writer = new SseWriter(context.res);
  await streamLines(context, writer, response, (line) => {
    const finishReason = line.done ? finishReasonOf(line, false) : null;
    writer.write(textCompletionChunk(header, line.response ?? '', finishReason));
    if (line.done && request.stream_options?.include_usage) {
      writer.write(usageChunk(header, 'text_completion', usageOf(line)));
    }
  });
}

async function embeddings(context: Context, body: unknown): Promise<void> {
  const request = parseOpenAiBody(embeddingRequestSchema, body);
  if (request.input === '' || (Array.isArray(request.input) && request.input.length === 0)) {
    throw new OpenAiError(400, 'invalid input: input must not be empty', 'input');
  }
  const response = await postOllama(context, '/api/embed', toOllamaEmbed(request));
  const reply = (await response.json()) as { embeddings?: number[][]; prompt_eval_count?: number };
  const vectors = reply.embeddings ?? [];
  sendJson(context.res, 200, embeddingList(request.model, vectors, reply.prompt_eval_count ?? 0, request.encoding_format ?? 'float'));
}

async function listModels(context: Context): Promise<void> {
  const models = await fetchTags(context);
  sendJson(context.res, 200, { object: 'list', data: models.map(modelObject) });
}

async function retrieveModel(context: Context, name: string): Promise<void> {
  const models = await fetchTags(context);
  const entry = models.find((model) => model.name !== undefined && sameModel(model.name, name));
  if (!entry) throw new OpenAiError(404, `model '${name}' not found`);
  sendJson(context.res, 200, modelObject(entry));
}

async function fetchTags(context: Context): Promise<Array<{ name?: string; model?: string; modified_at?: string }>> {
  const response = await callOllama(context, '/api/tags', { method: 'GET' });
  const body = (await response.json()) as { models?: Array<{ name?: string; modified_at?: string }> };
  return body.models ?? [];
}

function postOllama(context: Context, path: string, body: Record<string, unknown>): Promise<Response> {
  return callOllama(context, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Calls the Ollama API and turns an error status into an OpenAiError with Ollama's message. */
async function callOllama(context: Context, path: string, init: RequestInit): Promise<Response> {
  const url = `${context.options.ollamaUrl()}${path}`;
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: context.signal });
  } catch (error) {
    if (context.signal.aborted) throw error;
    throw new OpenAiError(502, `Ollama API at ${url} failed: ${(error as Error).message}`);
  }
  if (response.ok) return response;
  const text = await response.text();
  let message = text.trim() || `HTTP ${response.status}`;
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
  } catch {
    // A plain-text body is used as the message as it is.
  }
  throw new OpenAiError(response.status, message);
}

/** Reads a non-streamed Ollama reply, calling `onLine` for it, and returns it as the final line. */
async function readLines(response: Response, onLine: (line: OllamaGenerationLine) => void): Promise<OllamaGenerationLine> {
  const line = (await response.json()) as OllamaGenerationLine;
  if (line.error) throw new OpenAiError(500, line.error);
  onLine(line);
  return line;
}

/**
 * Relays an Ollama NDJSON stream as SSE. An `{"error"}` line from Ollama, or a stream that ends
 * without `done`, becomes an OpenAI error event and the stream ends without `[DONE]`.
 */
async function streamLines(
  context: Context,
  writer: SseWriter,
  response: Response,
  onLine: (line: OllamaGenerationLine) => void,
): Promise<void> {
  let finished = false;
  try {
    for await (const line of ndjsonLines(response)) {
      if (line.error) {
        context.options.log.warn({ error: line.error, path: context.req.url }, 'Ollama stream failed after it started');
        writer.write(openAiErrorBody(500, line.error));
        writer.end();
        return;
      }
      onLine(line);
      if (line.done) finished = true;
    }
  } catch (error) {
    if (context.signal.aborted) return;
    context.options.log.warn({ err: error, path: context.req.url }, 'Ollama stream failed');
    writer.write(openAiErrorBody(502, `reading the Ollama stream failed: ${(error as Error).message}`));
    writer.end();
    return;
  }
  if (!finished) {
    writer.write(openAiErrorBody(502, 'the Ollama stream ended without a final done line'));
    writer.end();
    return;
  }
  writer.done();
}

async function* ndjsonLines(response: Response): AsyncGenerator<OllamaGenerationLine> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const text = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (text !== '') yield JSON.parse(text) as OllamaGenerationLine;
      newline = buffer.indexOf('\n');
    }
  }
  const rest = (buffer + decoder.decode()).trim();
  if (rest !== '') yield JSON.parse(rest) as OllamaGenerationLine;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_OPENAI_BODY_BYTES) throw new OpenAiError(413, `request body exceeds ${MAX_OPENAI_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new OpenAiError(400, 'missing request body');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new OpenAiError(400, `invalid JSON in request body: ${(error as Error).message}`);
  }
}

function requireMethod(method: string, expected: string): void {
  if (method !== expected && !(expected === 'GET' && method === 'HEAD')) {
    throw new OpenAiError(405, `method ${method} not allowed; use ${expected}`);
  }
}

function replyWithError(context: Context, error: unknown): void {
  const { res, req } = context;
  if (res.headersSent || res.destroyed || context.signal.aborted) {
    if (!context.signal.aborted) context.options.log.error({ err: error, path: req.url }, 'OpenAI request failed after the response started');
    res.destroy();
    return;
  }
  if (error instanceof OpenAiError) {
    if (error.status >= 500) context.options.log.error({ err: error, path: req.url, status: error.status }, 'OpenAI request failed');
    sendJson(res, error.status, openAiErrorBody(error.status, error.message, error.param));
    return;
  }
  context.options.log.error({ err: error, path: req.url }, 'OpenAI request failed');
  sendJson(res, 500, openAiErrorBody(500, error instanceof Error ? error.message : String(error)));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
