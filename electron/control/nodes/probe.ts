import type { z } from 'zod';
import { psResponse, tagsResponse, versionResponse, type PsEntry, type TagEntry } from './ollama-schemas';

/** Result of one probe request against a node. */
export type ProbeOutcome<T> =
  | { ok: true; value: T; elapsedMs: number }
  | { ok: false; error: string; elapsedMs: number };

/** The four probes of one health check. */
export type ProbeReport = {
  heartbeat: ProbeOutcome<null>;
  version: ProbeOutcome<string>;
  tags: ProbeOutcome<TagEntry[]>;
  ps: ProbeOutcome<PsEntry[]>;
  /** The kind a SynapticLlamas node reports of itself in `/api/version`; absent for Ollama. */
  reportedKind?: string;
};

export type ProbeOptions = {
  timeoutMs: number;
  fetch?: typeof fetch;
  now?: () => number;
};

/** Reads a node's loaded models from `GET /api/ps` alone. */
export async function probeLoaded(baseUrl: string, options: ProbeOptions): Promise<ProbeOutcome<PsEntry[]>> {
  return mapOk(await probeJson(baseUrl, '/api/ps', psResponse, options), (p) => p.models);
}

/** Runs `HEAD /`, `GET /api/version`, `/api/tags` and `/api/ps` against a node, in parallel. */
export async function probeNode(baseUrl: string, options: ProbeOptions): Promise<ProbeReport> {
  const [heartbeat, version, tags, ps] = await Promise.all([
    probeHeartbeat(baseUrl, options),
    probeJson(baseUrl, '/api/version', versionResponse, options),
    probeJson(baseUrl, '/api/tags', tagsResponse, options),
    probeJson(baseUrl, '/api/ps', psResponse, options),
  ]);
  return {
    heartbeat,
    version: mapOk(version, (v) => v.version),
    tags: mapOk(tags, (t) => t.models),
    ps: mapOk(ps, (p) => p.models),
    ...(version.ok && version.value.synaptic_node ? { reportedKind: version.value.synaptic_node } : {}),
  };
}

async function probeHeartbeat(baseUrl: string, options: ProbeOptions): Promise<ProbeOutcome<null>> {
  const now = options.now ?? Date.now;
  const started = now();
  try {
    const response = await (options.fetch ?? fetch)(`${baseUrl}/`, {
      method: 'HEAD',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    await response.body?.cancel();
    if (!response.ok) return { ok: false, error: `HEAD / returned ${response.status}`, elapsedMs: now() - started };
    return { ok: true, value: null, elapsedMs: now() - started };
  } catch (error) {
    return { ok: false, error: `HEAD / failed: ${describeFetchError(error)}`, elapsedMs: now() - started };
  }
}

async function probeJson<S extends z.ZodType>(
  baseUrl: string,
  path: string,
  schema: S,
  options: ProbeOptions,
): Promise<ProbeOutcome<z.output<S>>> {
  const now = options.now ?? Date.now;
  const started = now();
  try {
    const response = await (options.fetch ?? fetch)(`${baseUrl}${path}`, {
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return { ok: false, error: `GET ${path} returned ${response.status}`, elapsedMs: now() - started };
    }
    const parsed = schema.safeParse(await response.json());
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join('.') || 'body';
      return {
        ok: false,
        error: `GET ${path} returned unexpected JSON at ${where}: ${issue?.message}`,
        elapsedMs: now() - started,
      };
    }
    return { ok: true, value: parsed.data, elapsedMs: now() - started };
  } catch (error) {
    return { ok: false, error: `GET ${path} failed: ${describeFetchError(error)}`, elapsedMs: now() - started };
  }
}

function mapOk<A, B>(outcome: ProbeOutcome<A>, map: (value: A) => B): ProbeOutcome<B> {
  return outcome.ok ? { ok: true, value: map(outcome.value), elapsedMs: outcome.elapsedMs } : outcome;
}

/** Turns a fetch rejection into a short message: the cause's code (ECONNREFUSED) or a timeout. */
export function describeFetchError(error: unknown): string {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return 'timed out';
  if (err?.name === 'AbortError') return 'aborted';
  if (err?.cause?.code) return err.cause.code;
  return err?.cause?.message ?? err?.message ?? String(error);
}
