import type { IncomingMessage, ServerResponse } from 'node:http';
import { seedFromString, createSeededRandom } from '../scoring/seeded-random';

/** Largest request body the simulator reads, in bytes. */
const maxBodyBytes = 8 * 1024 * 1024;

export type BodyResult = { kind: 'empty' } | { kind: 'json'; value: unknown } | { kind: 'invalid'; message: string };

/** Reads a request body and parses it as JSON; an empty body is its own outcome, as in Ollama. */
export async function readJsonBody(req: IncomingMessage): Promise<BodyResult> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > maxBodyBytes) return { kind: 'invalid', message: `request body exceeds ${maxBodyBytes} bytes` };
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return { kind: 'empty' };
  try {
    return { kind: 'json', value: JSON.parse(text) };
  } catch (error) {
    return { kind: 'invalid', message: `invalid JSON body: ${(error as Error).message}` };
  }
}

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

/** Plain-text answers that Ollama's Go router gives for unknown paths and wrong methods. */
export function sendPlain(res: ServerResponse, status: number, text: string, headOnly = false): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(headOnly ? undefined : text);
}

/**
 * Normalises a model name the way Ollama compares names: case-insensitive, default host
 * `registry.ollama.ai`, namespace `library` and tag `latest`.
 */
export function normalizeModelName(name: string): string {
  let rest = name.trim().toLowerCase();
  const parts = rest.split('/');
  if (parts.length === 3 && parts[0] === 'registry.ollama.ai') rest = parts.slice(1).join('/');
  if (rest.startsWith('library/')) rest = rest.slice('library/'.length);
  const lastSegment = rest.split('/').pop() ?? rest;
  if (!lastSegment.includes(':')) rest = `${rest}:latest`;
  return rest;
}

/** Deterministic vector for a text: the same text always maps to the same direction. */
export function embeddingFor(text: string, dimensions: number, normalise: boolean): number[] {
  const random = createSeededRandom(seedFromString(text));
  const raw = Array.from({ length: dimensions }, () => random() * 2 - 1);
  const norm = Math.sqrt(raw.reduce((sum, v) => sum + v * v, 0)) || 1;
  // `/api/embeddings` returns vectors that are not unit length, so scale those away from 1.
  const scale = normalise ? 1 / norm : 3.5 / norm;
  return raw.map((v) => v * scale);
}

/** Rough prompt size used by the simulator: four characters per token, at least one. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export function digestFor(name: string): string {
  const a = seedFromString(name, 1).toString(16).padStart(8, '0');
  const b = seedFromString(name, 2).toString(16).padStart(8, '0');
  return (a + b).repeat(4);
}
