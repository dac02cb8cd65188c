import { z } from 'zod';
import { parseModelName } from '../ollama-store/model-name';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const optionalFlag = (name: string) =>
  z.boolean({ error: (issue) => `${name} must be true or false, got ${JSON.stringify(issue.input)}` }).optional();

const optionalName = (name: string) =>
  z.string({ error: (issue) => `${name} must be a string, got ${JSON.stringify(issue.input)}` }).optional();

const pullSchema = z.object({
  model: optionalName('model'),
  name: optionalName('name'),
  insecure: optionalFlag('insecure'),
  stream: optionalFlag('stream'),
});

const deleteSchema = z.object({ model: optionalName('model'), name: optionalName('name') });

const copySchema = z.object({ source: optionalName('source'), destination: optionalName('destination') });

export type PullBody = { model: string; insecure?: boolean; stream: boolean };
export type DeleteBody = { model: string };
export type CopyBody = { source: string; destination: string };

/** Parses a `/api/pull` body with Ollama's messages; `name` is the older key for `model`. */
export function parsePullBody(bytes: Buffer): Parsed<PullBody> {
  const body = parseWith(bytes, pullSchema);
  if (!body.ok) return body;
  const model = body.value.model || body.value.name || '';
  if (model === '') return { ok: false, message: 'model is required' };
  if (!parseModelName(model)) return { ok: false, message: 'invalid model name' };
  return { ok: true, value: { model, insecure: body.value.insecure, stream: body.value.stream !== false } };
}

/** Parses a `/api/delete` body with Ollama's messages. */
export function parseDeleteBody(bytes: Buffer): Parsed<DeleteBody> {
  const body = parseWith(bytes, deleteSchema);
  if (!body.ok) return body;
  const model = body.value.model || body.value.name || '';
  if (model === '') return { ok: false, message: 'model is required' };
  if (!parseModelName(model)) return { ok: false, message: `name ${JSON.stringify(model)} is invalid` };
  return { ok: true, value: { model } };
}

/** Parses a `/api/copy` body with Ollama's messages. */
export function parseCopyBody(bytes: Buffer): Parsed<CopyBody> {
  const body = parseWith(bytes, copySchema);
  if (!body.ok) return body;
  const source = body.value.source ?? '';
  const destination = body.value.destination ?? '';
  if (!parseModelName(source)) return { ok: false, message: `source ${JSON.stringify(source)} is invalid` };
  if (!parseModelName(destination)) return { ok: false, message: `destination ${JSON.stringify(destination)} is invalid` };
  return { ok: true, value: { source, destination } };
}

/** Checks a `/api/push` or `/api/create` body just enough to reject it before picking a node. */
export function parseSingleNodeBody(bytes: Buffer): Parsed<{ model: string }> {
  const body = parseWith(bytes, deleteSchema);
  if (!body.ok) return body;
  const model = body.value.model || body.value.name || '';
  if (model === '') return { ok: false, message: 'model is required' };
  return { ok: true, value: { model } };
}

function parseWith<S extends z.ZodType>(bytes: Buffer, schema: S): Parsed<z.output<S>> {
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
  const parsed = schema.safeParse(value);
  if (!parsed.success) return { ok: false, message: parsed.error.issues.map((issue) => issue.message).join('; ') };
  return { ok: true, value: parsed.data };
}
