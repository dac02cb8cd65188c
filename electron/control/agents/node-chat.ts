import { Ollama, type Message } from 'ollama';
import type { AgentOptions } from './definitions';

export type ChatLimits = {
  /** Time allowed from sending the request to the first streamed chunk, in ms. */
  firstChunkTimeoutMs: number;
  /** Time allowed between two streamed chunks, in ms. */
  idleTimeoutMs: number;
  /** Maximum reply length in characters. A longer reply is cut off and fails the step. */
  maxReplyChars: number;
  /** Maximum HTTP response body size in bytes, which also bounds a line that never ends. */
  maxResponseBytes: number;
};

export type ChatRequestSpec = {
  nodeUrl: string;
  model: string;
  messages: Message[];
  format: Record<string, unknown>;
  options: AgentOptions;
};

export type ChatReply = {
  text: string;
  promptTokens?: number;
  completionTokens?: number;
  ttftMs?: number;
  evalDurationNs?: number;
};

/** A failed call. `started` is true once a chunk arrived, because from then on a retry is unsafe. */
export class NodeChatError extends Error {
  constructor(
    message: string,
    readonly started: boolean,
    readonly partialText: string,
    readonly cancelled = false,
    /** HTTP status of a rejected request, when the node sent one. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'NodeChatError';
  }
}

/**
 * Streams one `/api/chat` call to a node with the `ollama` client, passing each content delta to
 * `onDelta`. Rejects with NodeChatError on HTTP errors, an `{"error"}` line, a stream that ends
 * without `done`, a timeout, an over-long reply or cancellation through `signal`.
 */
export async function streamNodeChat(
  spec: ChatRequestSpec,
  limits: ChatLimits,
  signal: AbortSignal,
  onDelta: (delta: string) => void,
): Promise<ChatReply> {
  const controller = new AbortController();
  const stopOnCancel = () => controller.abort(new Error('the turn was cancelled'));
  signal.addEventListener('abort', stopOnCancel, { once: true });
  let timer = setTimeout(
    () => controller.abort(new Error(`no reply from ${spec.nodeUrl} within ${limits.firstChunkTimeoutMs} ms`)),
    limits.firstChunkTimeoutMs,
  );
  const restartIdleTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => controller.abort(new Error(`the stream from ${spec.nodeUrl} stalled for ${limits.idleTimeoutMs} ms`)),
      limits.idleTimeoutMs,
    );
  };

  const client = new Ollama({
    host: spec.nodeUrl,
    fetch: async (input, init) => {
      const response = await fetch(input, {
        ...init,
        signal: init?.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal,
      });
      return limitBody(response, limits.maxResponseBytes, spec.nodeUrl);
    },
  });
  const startedAt = performance.now();
  let started = false;
  let text = '';
  const reply: ChatReply = { text: '' };
  try {
    if (signal.aborted) stopOnCancel();
    const stream = await client.chat({
      model: spec.model,
      messages: spec.messages,
      format: spec.format,
      options: spec.options,
      stream: true,
    });
    for await (const chunk of stream) {
      restartIdleTimer();
      if (!started) reply.ttftMs = Math.round(performance.now() - startedAt);
      started = true;
      const delta = readDelta(chunk);
      if (delta.length > 0) {
        if (text.length + delta.length > limits.maxReplyChars) {
          throw new Error(`the reply exceeded ${limits.maxReplyChars} characters and was cut off`);
        }
        text += delta;
        onDelta(delta);
      }
      if (chunk.done) {
        reply.promptTokens = readCount(chunk.prompt_eval_count);
        reply.completionTokens = readCount(chunk.eval_count);
        reply.evalDurationNs = readCount(chunk.eval_duration);
      }
    }
    reply.text = text;
    return reply;
  } catch (error) {
    const reason = controller.signal.aborted ? controller.signal.reason : error;
    const message = describeFailure(reason, spec.nodeUrl);
    const status = (reason as { status_code?: unknown } | null)?.status_code;
    throw new NodeChatError(message, started, text, signal.aborted, typeof status === 'number' ? status : undefined);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stopOnCancel);
    controller.abort();
  }
}

/** Wraps the response so that reading past `maxBytes` of body fails with an error. */
function limitBody(response: Response, maxBytes: number, nodeUrl: string): Response {
  if (!response.body) return response;
  let received = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, stream) {
      received += chunk.byteLength;
      if (received > maxBytes) {
        stream.error(new Error(`the response from ${nodeUrl} exceeded ${maxBytes} bytes`));
        return;
      }
      stream.enqueue(chunk);
    },
  });
  return new Response(response.body.pipeThrough(counter), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function readDelta(chunk: unknown): string {
  const message = (chunk as { message?: { content?: unknown } } | null)?.message;
  return typeof message?.content === 'string' ? message.content : '';
}

function readCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function describeFailure(error: unknown, nodeUrl: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const status = (error as { status_code?: unknown } | null)?.status_code;
  if (typeof status === 'number') return `${nodeUrl} answered HTTP ${status}: ${message}`;
  if (message === 'fetch failed') {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    return `request to ${nodeUrl} failed${cause ? `: ${cause}` : ''}`;
  }
  return message;
}
