import type { IncomingMessage } from 'node:http';

export type BodyOutcome = { ok: true; bytes: Buffer } | { ok: false; status: number; message: string };

/** Reads a request body into memory, rejecting one larger than `maxBytes`. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyOutcome> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.resolve({ ok: false, status: 413, message: `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes` });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      total += chunk.length;
      if (total > maxBytes) {
        settled = true;
        resolve({ ok: false, status: 413, message: `request body exceeds the limit of ${maxBytes} bytes` });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!settled) {
        settled = true;
        resolve({ ok: true, bytes: Buffer.concat(chunks, total) });
      }
    });
    req.on('error', (error) => {
      if (!settled) {
        settled = true;
        resolve({ ok: false, status: 400, message: `failed to read request body: ${error.message}` });
      }
    });
  });
}

/**
 * Maximum length of a model name. Ollama limits each part of a name (host, namespace, model, tag),
 * and together they stay well under this. A longer name is rejected, so it is not echoed whole
 * into errors, logs and metrics.
 */
export const MAX_MODEL_NAME = 1024;

/** The fields the gateway reads from a routed request body. */
export type RoutedBody = {
  model: string;
  options?: Record<string, unknown>;
  /** The whole parsed body, for request analysis. */
  raw: Record<string, unknown>;
};

export type ParseOutcome = { ok: true; body: RoutedBody } | { ok: false; message: string };

/**
 * Parses a request body just enough to route it, with Ollama's error messages: `missing request
 * body`, `invalid JSON: ...`, `model is required`. `/api/show` also accepts the older `name` key.
 */
export function parseRoutedBody(bytes: Buffer, acceptName: boolean): ParseOutcome {
  if (bytes.length === 0) return { ok: false, message: 'missing request body' };
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return { ok: false, message: `invalid JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: 'invalid JSON: request body must be a JSON object' };
  }
  const record = value as Record<string, unknown>;
  const model = record.model ?? (acceptName ? record.name : undefined);
  if (model === undefined || model === null || model === '') return { ok: false, message: 'model is required' };
  if (typeof model !== 'string') return { ok: false, message: `model must be a string, got ${JSON.stringify(model).slice(0, 200)}` };
  if (model.length > MAX_MODEL_NAME) {
    return { ok: false, message: `invalid model name '${model.slice(0, 80)}...': ${model.length} characters, more than the ${MAX_MODEL_NAME} allowed` };
  }
  const options = record.options;
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
    return { ok: false, message: `options must be an object, got ${JSON.stringify(options)}` };
  }
  return { ok: true, body: { model, options: (options ?? undefined) as Record<string, unknown> | undefined, raw: record } };
}

/** Reads `X-Synaptic-Priority` (1 to 10); absent gives undefined. */
export function parsePriority(header: string | string[] | undefined): { ok: true; value?: number } | { ok: false; message: string } {
  if (header === undefined) return { ok: true };
  const text = Array.isArray(header) ? header[0] : header;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 10) {
    return { ok: false, message: `invalid X-Synaptic-Priority header '${text}': expected an integer from 1 to 10` };
  }
  return { ok: true, value };
}

/** Reads `X-Synaptic-Hedge`: `1`/`true` asks for a hedge, `0`/`false` forbids one; absent gives undefined. */
export function parseHedgeHeader(header: string | string[] | undefined): { ok: true; value?: boolean } | { ok: false; message: string } {
  if (header === undefined) return { ok: true };
  const text = (Array.isArray(header) ? header[0] : header).trim().toLowerCase();
  if (text === '1' || text === 'true') return { ok: true, value: true };
  if (text === '0' || text === 'false') return { ok: true, value: false };
  return { ok: false, message: `invalid X-Synaptic-Hedge header '${text}': expected 1, 0, true or false` };
}

/**
 * Returns true when a request's `keep_alive` makes the node unload the model once the request is
 * done: the number 0, or a zero duration such as `"0"`, `"0s"` or `"0m"`. A negative value keeps
 * the model loaded indefinitely, and any other value keeps it for that long.
 */
export function asksToUnload(keepAlive: unknown): boolean {
  if (typeof keepAlive === 'number') return keepAlive === 0;
  if (typeof keepAlive !== 'string') return false;
  return /^\s*0+(\.0*)?\s*(ns|us|µs|ms|s|m|h)?\s*$/.test(keepAlive);
}
