import { request as httpRequest, type Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestResult } from '../router/port';
import { forwardableHeaders } from './headers';
import { LineSplitter } from './ndjson';

export type UpstreamInput = {
  nodeUrl: string;
  path: string;
  method: string;
  headers: OutgoingHttpHeaders;
  body: Buffer;
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
/** The attempt was aborted through its signal before the node responded. */
export type Cancelled = { kind: 'cancelled'; elapsedMs: number };
/**
 * The node sent its response headers. Node's and Go's HTTP servers send headers together with
 * the first body write, so for Ollama-style streaming this is the first byte of output.
 */
export type Opened = {
  kind: 'opened';
  response: IncomingMessage;
  status: number;
  headers: OutgoingHttpHeaders;
  /** `performance.now()` when the request was sent. */
  startedAt: number;
  /** Aborts the upstream request. */
  abort(): void;
};
export type Forwarded = { kind: 'forwarded'; result: RequestResult };

/**
 * Sends a request to a node and resolves when its response headers arrive, or with a retryable
 * failure: no response within the first-byte timeout, a connection error, or a 5xx status when
 * `mayRetry` is set. Aborting `signal` cancels the request at once, so the node sees the abort.
 */
export function openUpstream(input: UpstreamInput, signal?: AbortSignal): Promise<Retryable | Cancelled | Opened> {
  const startedAt = performance.now();
  const target = upstreamTarget(input.nodeUrl);
  const send = target.https ? httpsRequest : httpRequest;
  const elapsed = () => performance.now() - startedAt;

  return new Promise((resolve) => {
    let settled = false;
    let upstreamResponse: IncomingMessage | undefined;
    const settle = (value: Retryable | Cancelled | Opened) => {
      if (settled) return;
      settled = true;
      clearTimeout(firstByteTimer);
      signal?.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const retry = (fields: Omit<Retryable, 'kind' | 'elapsedMs'>) => settle({ kind: 'retryable', elapsedMs: elapsed(), ...fields });
    // Destroying the request closes its socket, which is how the node learns the client left.
    const abort = () => {
      upstream.destroy();
      upstreamResponse?.destroy();
    };
    const onAbort = () => {
      abort();
      settle({ kind: 'cancelled', elapsedMs: elapsed() });
    };

    const firstByteTimer = setTimeout(() => {
      abort();
      retry({ error: `node sent no response within ${input.firstByteTimeoutMs} ms` });
    }, input.firstByteTimeoutMs);

    let resentOnFreshSocket = false;
    const open = () => {
      const request = send({
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        path: target.basePath + input.path,
        method: input.method,
        headers: { ...input.headers, 'content-length': input.body.length },
        agent: target.https ? input.agents.https : input.agents.http,
      });

      request.on('error', (error) => {
        if (settled || request !== upstream) return;
        // A kept-alive socket that the node closed while idle fails before the node reads
        // anything, so the request is sent once more on a new connection.
        if (request.reusedSocket && !resentOnFreshSocket && isStaleSocketError(error)) {
          resentOnFreshSocket = true;
          upstream = open();
          return;
        }
        retry({ error: `request to node failed: ${describeError(error)}` });
      });

      request.on('response', (response: IncomingMessage) => {
        clearTimeout(firstByteTimer);
        upstreamResponse = response;
        if (settled) {
          response.destroy();
          return;
        }
        const status = response.statusCode ?? 502;
        const headers = forwardableHeaders(response.headers);
        if (status >= 500 && input.mayRetry) {
          collect(response).then((body) => retry({ error: `node returned ${status}: ${summarize(body)}`, status, body, headers }));
          return;
        }
        response.pause();
        settle({ kind: 'opened', response, status, headers, startedAt, abort });
      });

      request.end(input.body);
      return request;
    };
    let upstream = open();

    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

type UpstreamTarget = { https: boolean; protocol: string; hostname: string; port: string; basePath: string };
const targets = new Map<string, UpstreamTarget>();

/**
 * Splits a node URL into request options once and keeps them, since the same few node URLs are
 * used for every request. A base path (a node behind a reverse proxy under `/ollama`) is kept.
 */
function upstreamTarget(nodeUrl: string): UpstreamTarget {
  let target = targets.get(nodeUrl);
  if (target) return target;
  const url = new URL(nodeUrl);
  const https = url.protocol === 'https:';
  target = {
    https,
    protocol: url.protocol,
    // URL keeps the brackets of an IPv6 host; the request options want the bare address.
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port || (https ? '443' : '80'),
    basePath: url.pathname.replace(/\/+$/, ''),
  };
  if (targets.size >= 1024) targets.clear();
  targets.set(nodeUrl, target);
  return target;
}

/**
 * Watches a relayed response for a node that stops sending. Every `everyMs` the relay passes how
 * long the node has been silent, and a returned reason ends the response with that error.
 */
export type StallWatch = { everyMs: number; check(silentMs: number): string | undefined };

/** Relays an opened response to the client until it ends, fails or the client goes away. */
export function relayResponse(opened: Opened, res: ServerResponse, stall?: StallWatch): Promise<Forwarded> {
  const { response, status } = opened;
  return new Promise((resolve) => {
    let settled = false;
    let lastDataAt = performance.now();
    let stallTimer: NodeJS.Timeout | undefined;
    let ttftMs: number | undefined;
    let lastLine: Buffer | undefined;
    let ended = false;
    let clientGone = false;
    const latency = () => performance.now() - opened.startedAt;
    const finish = (fields: Omit<RequestResult, 'latencyMs' | 'ttftMs'>) => {
      if (settled) return;
      settled = true;
      clearInterval(stallTimer);
      res.off('close', onClientClose);
      resolve({ kind: 'forwarded', result: { latencyMs: latency(), ttftMs, ...fields, ...usage(lastLine) } });
    };
    const onClientClose = () => {
      if (res.writableFinished) return;
      clientGone = true;
      opened.abort();
      response.destroy();
      finish({ ok: false, cancelled: true, status, error: 'client disconnected' });
    };
    if (res.destroyed) {
      onClientClose();
      return;
    }
    res.on('close', onClientClose);

    res.writeHead(status, opened.headers);
    const lineMode = String(response.headers['content-type'] ?? '').includes('application/x-ndjson');
    const splitter = lineMode ? new LineSplitter() : undefined;

    const write = (bytes: Buffer) => {
      if (ttftMs === undefined) ttftMs = latency();
      if (!res.write(bytes)) {
        response.pause();
        res.once('drain', () => response.resume());
      }
    };

    response.on('data', (chunk: Buffer) => {
      lastDataAt = performance.now();
      if (!lineMode) {
        lastLine = chunk;
        write(chunk);
        return;
      }
      for (const line of splitter!.push(chunk)) {
        lastLine = line;
        write(line);
      }
    });

    response.on('end', () => {
      ended = true;
      const rest = splitter ? splitter.rest() : null;
      if (rest) {
        lastLine = rest;
        write(rest);
      }
      res.end();
      const error = status >= 400 ? summarize(lastLine) : undefined;
      finish({ ok: status < 400, status, error });
    });

    // Ends the client's response after output started: one error line for NDJSON, else a cut.
    const failMidway = (message: string) => {
      if (lineMode) {
        res.end(JSON.stringify({ error: message }) + '\n');
      } else {
        res.destroy(new Error(message));
      }
      finish({ ok: false, status, error: message });
    };

    response.on('close', () => {
      if (ended || settled) return;
      if (res.destroyed || clientGone) {
        finish({ ok: false, cancelled: true, status, error: 'client disconnected' });
        return;
      }
      failMidway('node connection closed before the response was complete');
    });

    if (stall) {
      stallTimer = setInterval(() => {
        const reason = stall.check(performance.now() - lastDataAt);
        if (reason === undefined || settled) return;
        ended = true;
        opened.abort();
        failMidway(reason);
      }, stall.everyMs);
      stallTimer.unref();
    }
    response.on('error', () => undefined);
    response.resume();
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
function usage(lastChunk: Buffer | undefined): Partial<RequestResult> {
  if (!lastChunk) return {};
  // Ollama writes the counters at the end of its final object, after `context` and the text, so
  // the tail of the last chunk has them even when a long non-streamed body came in many chunks.
  const tail = lastChunk.subarray(Math.max(0, lastChunk.length - 1024)).toString('latin1');
  return { evalCount: lastNumber(tail, evalCountField), evalDurationNs: lastNumber(tail, evalDurationField) };
}

const evalCountField = /"eval_count"\s*:\s*(\d+)/g;
const evalDurationField = /"eval_duration"\s*:\s*(\d+)/g;

/** Returns the number in the last match of a field pattern, or undefined without a match. */
function lastNumber(text: string, field: RegExp): number | undefined {
  let value: number | undefined;
  for (const match of text.matchAll(field)) value = Number(match[1]);
  return value;
}

/** Errors of a request whose kept-alive socket the other side had already closed. */
function isStaleSocketError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

function describeError(error: unknown): string {
  const err = error as NodeJS.ErrnoException;
  return err.code ? `${err.code}${err.message && !err.message.includes(err.code) ? ` (${err.message})` : ''}` : err.message;
}
