import { resolve } from 'node:path';
import type { ApiResult } from '../../../shared/result';
import { CliError } from './errors';
import type { GlobalFlags } from './command-line';
import { startLocalPlane } from './local-plane';

export const DEFAULT_API_URL = 'http://127.0.0.1:8765';

/** Connection to the control plane, either over `/rpc` or in this process. */
export type ApiClient = {
  mode: 'remote' | 'local';
  /** The `/rpc` base URL, or the data folder of the in-process control plane. */
  target: string;
  invoke(channel: string, args?: unknown): Promise<ApiResult<unknown>>;
  close(): Promise<void>;
};

/**
 * Resolves the data folder: `--data`, else SYNAPTIC_DATA, else the folder `serve` uses by default.
 * The serve module is loaded only in the last case because it imports the whole control plane.
 */
export async function dataDirOf(globals: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const given = globals.data ?? env.SYNAPTIC_DATA;
  if (given !== undefined && given !== '') return resolve(given);
  const { defaultDataDir } = await import('../serve');
  return defaultDataDir(env);
}

/**
 * Connects to the control plane at `--api` (or SYNAPTIC_API). When neither is given it tries
 * 127.0.0.1:8765 and, when nothing responds there, starts one in this process with the data folder
 * from `--data` and the models folder from `--models`. An explicit URL that does not respond is an
 * error, never a fallback. `--local` skips the network and always runs in this process.
 */
export async function connect(
  globals: GlobalFlags,
  notice: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ApiClient> {
  const modelsDir = globals.models === undefined || globals.models === '' ? undefined : resolve(globals.models);
  // An empty environment variable counts as unset.
  const token = globals.token ?? (env.SYNAPTIC_TOKEN || undefined);
  if (!globals.local) {
    const explicit = globals.api ?? (env.SYNAPTIC_API || undefined);
    const baseUrl = normalizeApiUrl(explicit ?? DEFAULT_API_URL);
    const remote = await tryRemote(baseUrl, token);
    if (remote.kind === 'ok') return remote.client;
    if (remote.kind === 'unauthorized') {
      throw new CliError(`the control plane at ${baseUrl} rejected the token; pass --token or set SYNAPTIC_TOKEN`);
    }
    if (explicit) {
      const source = globals.api !== undefined ? '--api' : 'SYNAPTIC_API';
      throw new CliError(
        `no control plane responds at ${baseUrl} (${source}): ${remote.reason}; start one with "synaptic serve" there, or pass --local to run one in this process`,
      );
    }
  }
  return startLocalPlane(await dataDirOf(globals, env), modelsDir);
}

function normalizeApiUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`invalid --api URL '${raw}': expected e.g. ${DEFAULT_API_URL}`, 2, 'usage');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`invalid --api URL '${raw}': use http:// or https://`, 2, 'usage');
  }
  return `${url.protocol}//${url.host}`;
}

type RemoteProbe =
  | { kind: 'ok'; client: ApiClient }
  | { kind: 'unauthorized' }
  | { kind: 'absent'; reason: string };

async function tryRemote(baseUrl: string, token: string | undefined): Promise<RemoteProbe> {
  const invoke = (channel: string, args?: unknown, timeoutMs?: number) =>
    invokeRemote(baseUrl, token, channel, args, timeoutMs);
  let response: Response;
  try {
    response = await postRpc(baseUrl, token, 'system:info', undefined, 1500);
  } catch (error) {
    return { kind: 'absent', reason: describeFetchError(error) };
  }
  if (response.status === 401) return { kind: 'unauthorized' };
  const envelope = await readEnvelope(response);
  if (!envelope) return { kind: 'absent', reason: `HTTP ${response.status} without a result envelope` };
  return {
    kind: 'ok',
    client: { mode: 'remote', target: baseUrl, invoke: (channel, args) => invoke(channel, args), close: async () => {} },
  };
}

function postRpc(baseUrl: string, token: string | undefined, channel: string, args: unknown, timeoutMs?: number) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(`${baseUrl}/rpc/${channel}`, {
    method: 'POST',
    headers,
    body: args === undefined ? '' : JSON.stringify(args),
    signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined,
  });
}

async function invokeRemote(
  baseUrl: string,
  token: string | undefined,
  channel: string,
  args: unknown,
  timeoutMs?: number,
): Promise<ApiResult<unknown>> {
  let response: Response;
  try {
    response = await postRpc(baseUrl, token, channel, args, timeoutMs);
  } catch (error) {
    return { ok: false, error: { code: 'unavailable', message: `control plane at ${baseUrl}: ${describeFetchError(error)}` } };
  }
  const envelope = await readEnvelope(response);
  if (envelope) return envelope;
  return { ok: false, error: { code: 'internal', message: `control plane at ${baseUrl} returned HTTP ${response.status} without a result envelope` } };
}

async function readEnvelope(response: Response): Promise<ApiResult<unknown> | null> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null || typeof (body as { ok?: unknown }).ok !== 'boolean') return null;
  const envelope = body as ApiResult<unknown>;
  if (!envelope.ok && (typeof envelope.error?.message !== 'string' || typeof envelope.error?.code !== 'string')) {
    return null;
  }
  return envelope;
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string } })?.cause;
  if (cause?.code) return cause.code;
  if ((error as Error)?.name === 'TimeoutError') return 'timed out';
  return (error as Error)?.message ?? String(error);
}
