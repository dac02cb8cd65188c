import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error with the HTTP status Ollama uses for it; its message becomes `{"error": "..."}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Maximum request body size; larger bodies are rejected with 413. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: message });
}

export function sendText(res: ServerResponse, status: number, text: string, head = false): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(head ? undefined : text);
}

/**
 * Reads and parses a JSON object body. Rejects an empty body with 400 `missing request body`,
 * invalid JSON or a non-object with 400, and a body over MAX_BODY_BYTES with 413.
 */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new HttpError(413, `request body exceeds ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'missing request body');

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `invalid JSON in request body: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/**
 * Writes NDJSON lines, one object per write. Before the first line the caller can still send a
 * status code; after it, errors go out as a last `{"error": "..."}` line.
 */
export class NdjsonWriter {
  private started = false;

  constructor(private readonly res: ServerResponse) {}

  get hasStarted(): boolean {
    return this.started;
  }

  write(value: unknown): void {
    if (!this.started) {
      this.started = true;
      this.res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    }
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(`${JSON.stringify(value)}\n`);
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}
