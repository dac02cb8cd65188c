import { request as httpRequest, type Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestResult } from '../router/port';
import { forwardableHeaders } from './headers';
import { LineSplitter } from './ndjson';

export type ForwardInput = {
  nodeUrl: string;
  path: string;
  method: string;
  headers: OutgoingHttpHeaders;
  body: Buffer;
  res: ServerResponse;
  agents: { http: Agent; https: HttpsAgent };
  /** Upstream must send its response headers within this many ms, or the attempt fails. */
  firstByteTimeoutMs: number;
  /** When true, a 5xx response is returned as retryable instead of being sent to the client. */
  mayRetry: boolean;
};

/** The attempt failed before anything reached the client, so another node may be tried. */
export type Retryable = {
  kind: 'retryable';
  error: string;
  elapsedMs: number;
  status?: number;
  body?: Buffer;
  headers?: OutgoingHttpHeaders;
};
export type Forwarded = { kind: 'forwarded'; result: RequestResult };

/**
 * Sends one request to a node and relays the response. NDJSON is relayed one complete line per
 * write. Once output has started, an upstream failure ends the body with one `{"error"}` line and
 * never a made-up `done`. A client that goes away aborts the upstream request at once.
 */
export function forwardOnce(input: ForwardInput): Promise<Retryable | Forwarded> {
  const started = performance.now();
  const { res } = input;
  const target = new URL(input.path, input.nodeUrl.endsWith('/') ? input.nodeUrl : `${input.nodeUrl}/`);
  const isHttps = target.protocol === 'https:';
  const controller = new AbortController();
  const send = isHttps ? httpsRequest : httpRequest;

  return new Promise((resolve) => {
    let settled = false;
    let ttftMs: number | undefined;
    let lastLine: Buffer | undefined;
    const retry = (fields: Omit<Retryable, 'kind' | 'elapsedMs'>) =>
      settle({ kind: 'retryable', elapsedMs: performance.now() - started, ...fields });
    const settle = (value: Retryable | Forwarded) => {
      if (settled) return;
      settled = true;
      clearTimeout(firstByteTimer);
      res.off('close', onClientClose);
      resolve(value);
    };
    const finish = (fields: Omit<RequestResult, 'latencyMs' | 'ttftMs'>) =>
      settle({ kind: 'forwarded', result: { latencyMs: performance.now() - started, ttftMs, ...fields, ...usage(lastLine) } });

    const onClientClose = () => {
      if (res.writableFinished) return;
      controller.abort();
      finish({ ok: false, cancelled: true, error: 'client disconnected' });
    };
    res.on('close', onClientClose);

    const upstream = send(target, {
      method: input.method,
      headers: { ...input.headers, 'content-length': input.body.length },
      agent: isHttps ? input.agents.https : input.agents.http,
      signal: controller.signal,
    });
    const firstByteTimer = setTimeout(() => {
      controller.abort();
      retry({ error: `node sent no response within ${input.firstByteTimeoutMs} ms` });
    }, input.firstByteTimeoutMs);

    upstream.on('error', (error) => {
      if (settled) return;
      retry({ error: `request to node failed: ${describeError(error)}` });
    });

    upstream.on('response', (response: IncomingMessage) => {
      clearTimeout(firstByteTimer);
      if (settled) {
        response.destroy();
        return;
      }
      const status = response.statusCode ?? 502;
      const headers = forwardableHeaders(response.headers);

      if (status >= 500 && input.mayRetry) {
        collect(response).then((body) =>
          retry({ error: `node returned ${status}: ${summarize(body)}`, status, body, headers }),
        );
        return;
      }

      res.writeHead(status, headers);
      const lineMode = String(response.headers['content-type'] ?? '').includes('application/x-ndjson');
      const splitter = new LineSplitter();
      let ended = false;

      const write = (bytes: Buffer) => {
        if (ttftMs === undefined) ttftMs = performance.now() - started;
        if (!res.write(bytes)) {
          response.pause();
          res.once('drain', () => response.resume());
        }
      };

      response.on('data', (chunk: Buffer) => {
        if (!lineMode) {
          lastLine = chunk;
          write(chunk);
          return;
        }
        for (const line of splitter.push(chunk)) {
          lastLine = line;
          write(line);
        }
      });

      response.on('end', () => {
        ended = true;
        const rest = lineMode ? splitter.rest() : null;
        if (rest) {
          lastLine = rest;
          write(rest);
        }
        res.end();
        const error = status >= 400 ? summarize(lastLine) : undefined;
        finish({ ok: status < 400, status, error });
      });

      response.on('close', () => {
        if (ended || settled) return;
        if (res.destroyed || controller.signal.aborted) {
          finish({ ok: false, cancelled: true, status, error: 'client disconnected' });
          return;
        }
        const message = 'node connection closed before the response was complete';
        if (lineMode) {
          res.end(JSON.stringify({ error: message }) + '\n');
        } else {
          res.destroy(new Error(message));
        }
        finish({ ok: false, status, error: message });
      });
      response.on('error', () => undefined);
    });

    upstream.end(input.body);
  });
}

function collect(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', () => resolve(Buffer.concat(chunks)));
  });
}

/** Extracts the `error` text of an Ollama JSON body, or the first 200 bytes of anything else. */
function summarize(body: Buffer | undefined): string {
  if (!body || body.length === 0) return 'empty body';
  const text = body.toString('utf8').trim();
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
    if (parsed.error && typeof parsed.error === 'object' && 'message' in parsed.error) {
      return String((parsed.error as { message: unknown }).message);
    }
  } catch {
    // Not JSON; fall through to the raw text.
  }
  return text.slice(0, 200);
}

/** Reads token counts from the final `done` line of an Ollama response, when there is one. */
function usage(lastLine: Buffer | undefined): Partial<RequestResult> {
  if (!lastLine || lastLine.length > 64 * 1024) return {};
  try {
    const parsed = JSON.parse(lastLine.toString('utf8')) as { eval_count?: unknown; eval_duration?: unknown };
    return {
      evalCount: typeof parsed.eval_count === 'number' ? parsed.eval_count : undefined,
      evalDurationNs: typeof parsed.eval_duration === 'number' ? parsed.eval_duration : undefined,
    };
  } catch {
    return {};
  }
}

function describeError(error: unknown): string {
  const err = error as NodeJS.ErrnoException;
  return err.code ? `${err.code}${err.message && !err.message.includes(err.code) ? ` (${err.message})` : ''}` : err.message;
}
