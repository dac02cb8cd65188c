import { spawn } from 'node:child_process';
import { parseEndpoint } from './flags';
import { probeTcp } from './net';

export type ListedDevice = {
  /** ggml device name, for example `RPC0` or `CUDA0`. */
  name: string;
  /** For RPC devices, the endpoint `host:port`. */
  description: string;
  totalMiB: number;
  freeMiB: number;
};

/** Parses the `Available devices:` block that `llama-server --list-devices` prints. */
export function parseListDevices(text: string): ListedDevice[] {
  const devices: ListedDevice[] = [];
  const pattern = /^\s+(\S+):\s+(.*?)\s+\((\d+) MiB, (\d+) MiB free\)\s*$/;
  for (const line of text.split(/\r?\n/)) {
    const m = pattern.exec(line);
    if (!m) continue;
    devices.push({ name: m[1], description: m[2], totalMiB: Number(m[3]), freeMiB: Number(m[4]) });
  }
  return devices;
}

export type BackendCheck =
  | { endpoint: string; status: 'ok'; devices: ListedDevice[]; checkedAt: string }
  | {
      endpoint: string;
      status: 'unreachable' | 'incompatible' | 'no-devices' | 'invalid';
      reason: string;
      checkedAt: string;
    };

/**
 * Checks one RPC backend: a TCP connect first, then `llama-server --rpc <endpoint> --list-devices`,
 * which performs the RPC hello and reports the backend's memory. Each backend is checked alone so
 * that one broken backend cannot hide the others.
 */
export async function checkRpcBackend(
  llamaServerPath: string,
  endpoint: string,
  options: { timeoutMs?: number; now?: () => Date; signal?: AbortSignal } = {},
): Promise<BackendCheck> {
  const now = options.now ?? (() => new Date());
  const parsed = parseEndpoint(endpoint);
  if ('error' in parsed) return { endpoint, status: 'invalid', reason: parsed.error, checkedAt: now().toISOString() };

  const tcp = await probeTcp(parsed.host, parsed.port, 2000);
  if (!tcp.ok) return { endpoint, status: 'unreachable', reason: tcp.reason, checkedAt: now().toISOString() };

  const out = await runListDevices(llamaServerPath, endpoint, options.timeoutMs ?? 20_000, options.signal);
  const checkedAt = now().toISOString();
  if (out.cancelled) return { endpoint, status: 'unreachable', reason: `device check of ${endpoint} was cancelled`, checkedAt };
  const mismatch = /RPC server version mismatch: ([\d.]+)/.exec(out.text);
  if (mismatch) {
    return {
      endpoint,
      status: 'incompatible',
      reason: `RPC protocol version ${mismatch[1]} at ${endpoint} is not compatible with this llama-server; use an rpc-server from the same llama.cpp build`,
      checkedAt,
    };
  }
  const devices = parseListDevices(out.text).filter((d) => d.description === endpoint);
  if (devices.length > 0) return { endpoint, status: 'ok', devices, checkedAt };
  if (out.timedOut) {
    return { endpoint, status: 'unreachable', reason: `device check of ${endpoint} timed out`, checkedAt };
  }
  const detail = lastMeaningfulLine(out.text);
  return {
    endpoint,
    status: 'no-devices',
    reason: `${endpoint} accepted a TCP connection but reported no RPC device${detail ? ` (${detail})` : ''}`,
    checkedAt,
  };
}

function lastMeaningfulLine(text: string): string | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !/^Available devices|^\(none\)/.test(l));
  return lines.at(-1)?.slice(0, 200);
}

/** Runs `--list-devices` against one endpoint; the child is killed on timeout or when `signal` aborts. */
function runListDevices(
  bin: string,
  endpoint: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ text: string; timedOut: boolean; cancelled: boolean }> {
  if (signal?.aborted) return Promise.resolve({ text: '', timedOut: false, cancelled: true });
  return new Promise((resolve) => {
    let text = '';
    let timedOut = false;
    let cancelled = false;
    const child = spawn(bin, ['--rpc', endpoint, '--list-devices'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const onAbort = () => {
      cancelled = true;
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (output: string) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({ text: output, timedOut, cancelled });
    };
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.on('error', (err) => done(`${text}\nfailed to start ${bin}: ${err.message}`));
    child.on('close', () => done(text));
  });
}
