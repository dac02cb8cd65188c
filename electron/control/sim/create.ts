import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { displayModelName, parseModelName } from '../ollama-store/model-name';
import type { SimEngine } from './engine';
import type { SimModel } from './profile';
import { readJsonBody, sendError, sendJson, sendPlain } from './wire';

const digestPattern = /^sha256[:-]([0-9a-f]{64})$/;

/**
 * Handles `HEAD /api/blobs/<digest>` (200 when the blob exists, else 404) and
 * `POST /api/blobs/<digest>` (hashes the body: 201 when it matches, 400 when it does not, 200
 * when the blob was already there). Only the size is kept, because nothing reads blob bytes back.
 */
export async function handleBlob(engine: SimEngine, digest: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const match = digestPattern.exec(digest);
  if (!match) {
    req.resume();
    return sendError(res, 400, 'invalid digest format');
  }
  const key = `sha256:${match[1]}`;
  if (req.method === 'HEAD') {
    req.resume();
    return sendPlain(res, engine.blobs.has(key) ? 200 : 404, '', true);
  }
  if (engine.blobs.has(key)) {
    req.resume();
    return sendPlain(res, 200, '');
  }
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of req) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== key) return sendError(res, 400, `digest mismatch, expected ${JSON.stringify(key)}, got ${JSON.stringify(actual)}`);
  engine.blobs.set(key, bytes);
  sendPlain(res, 201, '');
}

/**
 * Handles `POST /api/create` from a local model (`from`) or from uploaded GGUF blobs (`files`),
 * streaming Ollama's status lines and adding the model before `success`.
 */
export async function handleCreate(engine: SimEngine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJsonBody(req);
  if (body.kind === 'empty') return sendError(res, 400, 'missing request body');
  if (body.kind === 'invalid') return sendError(res, 400, body.message);
  if (typeof body.value !== 'object' || body.value === null || Array.isArray(body.value)) {
    return sendError(res, 400, 'request body must be a JSON object');
  }
  const request = body.value as Record<string, unknown>;
  const name = parseModelName(text(request.model) || text(request.name));
  if (!name) return sendError(res, 400, 'invalid model name');
  const from = text(request.from);
  const files = request.files !== null && typeof request.files === 'object' ? Object.values(request.files as Record<string, unknown>).map(text) : [];
  if (from === '' && files.length === 0) return sendError(res, 400, "neither 'from' or 'files' was specified");

  const lines: Array<Record<string, string>> = [];
  const built = from !== '' ? fromModel(engine, from, lines) : fromFiles(engine, files, lines);
  const stream = request.stream !== false;
  if (!built.ok) {
    if (!stream) return sendError(res, 400, built.error);
    return sendLines(res, [...lines, { error: built.error }]);
  }

  const extras = ['system', 'template', 'license', 'parameters'].filter((key) => request[key] !== undefined);
  for (const key of extras) {
    const layer = createHash('sha256').update(`${key}:${JSON.stringify(request[key])}`).digest('hex');
    lines.push({ status: `creating new layer sha256:${layer}` });
  }
  lines.push({ status: 'writing manifest' }, { status: 'success' });
  const model: SimModel = { ...built.model, name: displayModelName(name) };
  engine.addModel(model);
  engine.stats.creates++;
  if (!stream) return sendJson(res, 200, { status: 'success' });
  sendLines(res, lines);
}

type Built = { ok: true; model: SimModel } | { ok: false; error: string };

function fromModel(engine: SimEngine, from: string, lines: Array<Record<string, string>>): Built {
  const base = engine.findModel(from);
  // NOTE: Ollama pulls a `from` model it lacks; the simulator only builds on local models.
  if (!base) return { ok: false, error: `model '${from}' not found` };
  lines.push({ status: `using existing layer sha256:${engine.digestOf(base)}` });
  return { ok: true, model: base };
}

function fromFiles(engine: SimEngine, digests: string[], lines: Array<Record<string, string>>): Built {
  lines.push({ status: 'parsing GGUF' });
  let sizeBytes = 0;
  for (const digest of digests) {
    const size = engine.blobs.get(digest);
    // NOTE: the wording of this error is the simulator's own; Ollama reports a missing file.
    if (size === undefined) return { ok: false, error: `blob ${digest} not found: upload it with POST /api/blobs/${digest} first` };
    sizeBytes += size;
    lines.push({ status: `using existing layer ${digest}` });
  }
  return {
    ok: true,
    model: {
      name: 'created',
      family: 'llama',
      parameterSize: 'unknown',
      quantizationLevel: 'unknown',
      sizeBytes: Math.max(1, sizeBytes),
      blockCount: 8,
      contextLength: 4096,
      embeddingLength: 16,
      embeddingOnly: false,
    },
  };
}

function sendLines(res: ServerResponse, lines: Array<Record<string, string>>): void {
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
  res.end(lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
