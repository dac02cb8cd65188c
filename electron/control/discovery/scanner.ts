import type { DiscoveryProposal, DiscoveryRejection } from '../../../shared/api/discovery';
import { rangeAddresses, type Ipv4Range } from './cidr';
import { fingerprintOllama, type HttpFetch } from './fingerprint';
import { probeTcp, type TcpProbe } from './tcp-probe';

export const DEFAULT_OLLAMA_PORT = 11434;
export const DEFAULT_RPC_PORT = 50052;
export const DEFAULT_CONCURRENCY = 64;
export const DEFAULT_CONNECT_TIMEOUT_MS = 300;
export const DEFAULT_FINGERPRINT_TIMEOUT_MS = 2000;

/**
 * Device check for an rpc-server at `host:port`. `verified: false` with a detail means the
 * server responded but cannot serve (for example a protocol version mismatch).
 */
export type RpcCheck = (hostPort: string, signal?: AbortSignal) => Promise<{ verified: boolean; detail: string }>;

export type ScanPlan = {
  range: Ipv4Range;
  ports: number[];
  rpcPorts: number[];
  concurrency: number;
  timeoutMs: number;
  fingerprintTimeoutMs: number;
};

export type ScanDeps = {
  probe?: TcpProbe;
  fetch?: HttpFetch;
  /** Absent when no llama.cpp binaries are installed; open rpc ports are then listed unverified. */
  checkRpc?: RpcCheck;
  /** True for the address of this control plane's own gateway, which must not be proposed. */
  isSelf?: (host: string, port: number) => boolean;
};

export type ScanCallbacks = {
  onProbed?: (probed: number) => void;
  onProposal?: (proposal: DiscoveryProposal) => void;
  onRejected?: (rejection: DiscoveryRejection) => void;
};

export function scanTotal(plan: ScanPlan): number {
  return plan.range.size * plan.ports.length;
}

/**
 * Probes every address of the plan's range on every port, with at most `concurrency` probes in
 * flight. Stops starting new probes once `signal` aborts, and resolves when all started ones end.
 */
export async function runScan(
  plan: ScanPlan,
  signal: AbortSignal,
  callbacks: ScanCallbacks = {},
  deps: ScanDeps = {},
): Promise<void> {
  const targets = scanTargets(plan);
  let probed = 0;

  const worker = async () => {
    for (;;) {
      if (signal.aborted) return;
      const next = targets.next();
      if (next.done) return;
      const { host, port } = next.value;
      await probeTarget(host, port, plan, signal, callbacks, deps);
      if (signal.aborted) return;
      probed += 1;
      callbacks.onProbed?.(probed);
    }
  };

  const workerCount = Math.min(plan.concurrency, scanTotal(plan));
  await Promise.all(Array.from({ length: workerCount }, worker));
}

function* scanTargets(plan: ScanPlan): Generator<{ host: string; port: number }> {
  for (const host of rangeAddresses(plan.range)) {
    for (const port of plan.ports) yield { host, port };
  }
}

async function probeTarget(
  host: string,
  port: number,
  plan: ScanPlan,
  signal: AbortSignal,
  callbacks: ScanCallbacks,
  deps: ScanDeps,
): Promise<void> {
  if (deps.isSelf?.(host, port)) return;
  const probe = deps.probe ?? probeTcp;
  const outcome = await probe(host, port, plan.timeoutMs, signal);
  if (outcome.kind !== 'open' || signal.aborted) return;

  if (plan.rpcPorts.includes(port)) {
    callbacks.onProposal?.(await classifyRpc(host, port, Math.round(outcome.latencyMs), signal, deps.checkRpc));
    return;
  }

  const fingerprint = await fingerprintOllama(`http://${host}:${port}`, plan.fingerprintTimeoutMs, signal, deps.fetch);
  if (signal.aborted) return;
  if (!fingerprint.ok) {
    callbacks.onRejected?.({ host, port, reason: fingerprint.reason });
    return;
  }
  callbacks.onProposal?.(
    ollamaProposal(host, port, 'scan', fingerprint.version, fingerprint.models, fingerprint.latencyMs),
  );
}

export function ollamaProposal(
  host: string,
  port: number,
  source: DiscoveryProposal['source'],
  version: string,
  models: string[],
  latencyMs: number,
): DiscoveryProposal {
  return {
    id: `ollama:${host}:${port}`,
    kind: 'ollama',
    host,
    port,
    address: `http://${host}:${port}`,
    verified: true,
    detail: `Ollama ${version}, ${models.length} model${models.length === 1 ? '' : 's'}`,
    version,
    models,
    source,
    latencyMs,
  };
}

async function classifyRpc(
  host: string,
  port: number,
  latencyMs: number,
  signal: AbortSignal,
  checkRpc: RpcCheck | undefined,
): Promise<DiscoveryProposal> {
  const base = { id: `rpc:${host}:${port}`, kind: 'rpc' as const, host, port, address: `${host}:${port}` };
  if (!checkRpc) {
    return { ...base, verified: false, detail: 'port open, not verified', source: 'scan', latencyMs };
  }
  try {
    const check = await checkRpc(`${host}:${port}`, signal);
    return { ...base, verified: check.verified, detail: check.detail, source: 'scan', latencyMs };
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    return { ...base, verified: false, detail: `port open, device check failed: ${message}`, source: 'scan', latencyMs };
  }
}
