import { z } from 'zod';

/** Response body of Ollama's `GET /api/version`. */
export const ollamaVersionSchema = z.object({ version: z.string().min(1) });

/** Response body of Ollama's `GET /api/tags`, where `models` is an array, possibly empty. */
export const ollamaTagsSchema = z.object({
  models: z.array(
    z.object({
      name: z.string(),
      model: z.string().optional(),
      digest: z.string().optional(),
      size: z.number().optional(),
      modified_at: z.string().optional(),
    }),
  ),
});

export type OllamaFingerprint =
  | { ok: true; version: string; models: string[]; latencyMs: number }
  | { ok: false; reason: string };

export type HttpFetch = typeof fetch;

/**
 * Checks that `baseUrl` is an Ollama server: both `/api/version` and `/api/tags` must return 200
 * with JSON of Ollama's shape. Any other web server on the port fails with the reason.
 */
export async function fingerprintOllama(
  baseUrl: string,
  timeoutMs: number,
  signal?: AbortSignal,
  fetchImpl: HttpFetch = fetch,
): Promise<OllamaFingerprint> {
  const started = performance.now();
  const version = await getJson(`${baseUrl}/api/version`, ollamaVersionSchema, timeoutMs, signal, fetchImpl);
  if (!version.ok) return version;
  const tags = await getJson(`${baseUrl}/api/tags`, ollamaTagsSchema, timeoutMs, signal, fetchImpl);
  if (!tags.ok) return tags;
  return {
    ok: true,
    version: version.value.version,
    models: tags.value.models.map((model) => model.name),
    latencyMs: Math.round(performance.now() - started),
  };
}

type JsonOutcome<T> = { ok: true; value: T } | { ok: false; reason: string };

async function getJson<S extends z.ZodType>(
  url: string,
  schema: S,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  fetchImpl: HttpFetch,
): Promise<JsonOutcome<z.output<S>>> {
  const path = new URL(url).pathname;
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let text: string;
  try {
    const response = await fetchImpl(url, { signal: combined, redirect: 'manual' });
    text = await response.text();
    if (response.status !== 200) {
      return { ok: false, reason: `GET ${path} returned HTTP ${response.status}, not 200` };
    }
  } catch (error) {
    if (timeout.aborted) return { ok: false, reason: `GET ${path} timed out after ${timeoutMs} ms` };
    if (signal?.aborted) return { ok: false, reason: 'scan cancelled' };
    return { ok: false, reason: `GET ${path} failed: ${describeError(error)}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: `GET ${path} did not return JSON` };
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
    return { ok: false, reason: `GET ${path} is not Ollama's shape (${where}: ${issue?.message ?? 'invalid'})` };
  }
  return { ok: true, value: result.data };
}

function describeError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return (error as Error)?.message ?? String(error);
}
