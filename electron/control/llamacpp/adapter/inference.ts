import type { ServerResponse } from 'node:http';
import type { Logger } from '../../core/logger';
import { NdjsonWriter, sendError } from './http';
import { readSseData } from './sse';
import { chatChunk, completionChunk, figuresFromTimings, finalFields, type FinalFigures } from './wire';

export type InferenceCall = {
  upstream: string;
  path: string;
  body: Record<string, unknown>;
  kind: 'chat' | 'generate';
  /** The model name exactly as the client sent it; every response echoes it. */
  model: string;
  stream: boolean;
  /** Load time reported to this request, in nanoseconds. */
  loadNs: number;
  signal: AbortSignal;
  log: Logger;
};

type Piece = { text: string; final?: FinalFigures };

/** Turns one parsed upstream event into text and, on the last event, the final figures. */
function pieceFromEvent(path: string, event: unknown): Piece {
  if (path === '/completion') {
    const c = completionChunk.parse(event);
    if (!c.stop) return { text: c.content };
    const usage = { prompt_tokens: c.tokens_evaluated, completion_tokens: c.tokens_predicted };
    return { text: c.content, final: figuresFromTimings(c.timings, usage, c.stop_type) };
  }
  const c = chatChunk.parse(event);
  const choice = c.choices[0];
  const text = choice?.delta?.content ?? choice?.message?.content ?? '';
  if (choice?.finish_reason || (c.choices.length === 0 && (c.timings || c.usage))) {
    return { text, final: figuresFromTimings(c.timings, c.usage, choice?.finish_reason) };
  }
  return { text };
}

function contentLine(kind: 'chat' | 'generate', model: string, text: string): Record<string, unknown> {
  const base = { model, created_at: new Date().toISOString() };
  return kind === 'chat'
    ? { ...base, message: { role: 'assistant', content: text }, done: false }
    : { ...base, response: text, done: false };
}

function errorMessage(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const reason = signal.reason;
    return reason instanceof Error ? reason.message : String(reason ?? 'request aborted');
  }
  const err = error as Error & { cause?: { code?: string; message?: string } };
  const cause = err?.cause?.code ?? err?.cause?.message;
  return `llama-server request failed: ${err?.message ?? String(error)}${cause ? ` (${cause})` : ''}`;
}

/**
 * Sends one chat or generate request to llama-server and writes the response in Ollama's format.
 * A streaming response is NDJSON. Once a line has gone out, a failure ends the body with one
 * `{"error": ...}` line and no `done` line. Before that, a failure gets a real status code.
 */
export async function runInference(call: InferenceCall, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const writer = new NdjsonWriter(res);
  let final: FinalFigures | undefined;
  let text = '';
  let gotLast = false;

  try {
    const upstreamBody = { ...call.body, stream: call.stream };
    const response = await fetch(`${call.upstream}${call.path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(upstreamBody),
      signal: call.signal,
    });
    if (!response.ok || !response.body) {
      const detail = await response.text().catch(() => '');
      let status = response.status;
      if (status > 500 && status !== 503) status = 500;
      sendError(res, status, `llama-server returned ${response.status}${detail ? `: ${extractError(detail)}` : ''}`);
      return;
    }

    if (!call.stream) {
      const piece = pieceFromEvent(call.path, await response.json());
      final = piece.final;
      text = piece.text;
      gotLast = true;
    } else {
      for await (const event of readSseData(response.body)) {
        const piece = pieceFromEvent(call.path, event);
        if (piece.text) writer.line(contentLine(call.kind, call.model, piece.text));
        if (piece.final) final = mergeFigures(final, piece.final);
      }
      // The chat endpoint sends usage after the finish chunk, so completion is judged at the end.
      gotLast = final !== undefined;
    }
    if (!gotLast || !final) throw new Error('llama-server ended the stream without a final message');
  } catch (error) {
    const message = errorMessage(error, call.signal);
    call.log.warn({ path: call.path, started: writer.hasStarted, err: message }, 'Inference request failed');
    if (res.destroyed) return;
    if (writer.hasStarted) {
      writer.line({ error: message });
      writer.end();
    } else {
      sendError(res, call.signal.aborted ? 503 : 500, message);
    }
    return;
  }

  const totalNs = Number(process.hrtime.bigint() - started) + call.loadNs;
  const last = {
    ...contentLine(call.kind, call.model, call.stream ? '' : text),
    ...finalFields(final, totalNs, call.loadNs),
  };
  if (call.stream) {
    writer.line(last);
    writer.end();
  } else {
    const body = JSON.stringify(last);
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}

/** Keeps the first finish reason and fills counts that a later usage-only chunk supplies. */
function mergeFigures(earlier: FinalFigures | undefined, later: FinalFigures): FinalFigures {
  if (!earlier) return later;
  return {
    doneReason: earlier.doneReason,
    promptEvalCount: earlier.promptEvalCount || later.promptEvalCount,
    promptEvalDurationNs: earlier.promptEvalDurationNs || later.promptEvalDurationNs,
    evalCount: earlier.evalCount || later.evalCount,
    evalDurationNs: earlier.evalDurationNs || later.evalDurationNs,
  };
}

function extractError(detail: string): string {
  try {
    const parsed = JSON.parse(detail) as { error?: { message?: string } | string };
    if (typeof parsed.error === 'string') return parsed.error;
    if (parsed.error?.message) return parsed.error.message;
  } catch {
    // not JSON: use the text as it is
  }
  return detail.slice(0, 300);
}
