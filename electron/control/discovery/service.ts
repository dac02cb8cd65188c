import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { z } from 'zod';
import type {
  AddOutcome,
  DiscoveryProposal,
  LocalDiscovery,
  ScanProgress,
  ScanView,
  scanInput,
} from '../../../shared/api/discovery';
import { ErrorCodes, type ApiResult } from '../../../shared/result';
import { ApiFailure } from '../core/api-registry';
import type { EventBus } from '../core/event-bus';
import type { Logger } from '../core/logger';
import { parseCidr } from './cidr';
import { discoverLocal, type LocalTarget } from './local';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_FINGERPRINT_TIMEOUT_MS,
  DEFAULT_OLLAMA_PORT,
  DEFAULT_RPC_PORT,
  runScan,
  scanTotal,
  type RpcCheck,
  type ScanDeps,
  type ScanPlan,
} from './scanner';

/** The part of the API registry that discovery calls to add what the user selected. */
export type ApiInvoker = { invoke(channel: string, args: unknown): Promise<ApiResult<unknown>> };

export type DiscoveryServiceOptions = {
  log: Logger;
  events: EventBus;
  api: ApiInvoker;
  /** The rpc-server device check; leave out when no llama.cpp binaries are installed. */
  checkRpc?: RpcCheck;
  /** True for this control plane's own gateway address, so it never proposes itself. */
  isSelf?: (host: string, port: number) => boolean;
  env?: NodeJS.ProcessEnv;
  /** Default address of an Ollama on this machine (127.0.0.1:11434). */
  localDefault?: LocalTarget;
  /** Probe and fetch replacements, for tests that count the traffic. */
  deps?: Pick<ScanDeps, 'probe' | 'fetch'>;
  /** Finished scans kept for `discovery:results`; the oldest go first. */
  maxScansKept?: number;
  progressIntervalMs?: number;
};

type ScanRecord = { view: ScanView; controller: AbortController; finished: Promise<ScanView> };

export class DiscoveryService {
  private readonly scans = new Map<string, ScanRecord>();
  private readonly log: Logger;

  constructor(private readonly options: DiscoveryServiceOptions) {
    this.log = options.log.child({ component: 'discovery' });
  }

  /** Validates the request and starts a scan in the background. Throws ApiFailure on bad input. */
  startScan(input: z.output<typeof scanInput>): { scanId: string; total: number } {
    const parsed = parseCidr(input.cidr);
    if (!parsed.ok) throw new ApiFailure(ErrorCodes.invalidArgument, parsed.message);

    const rpcPorts = unique(input.rpcPorts ?? [DEFAULT_RPC_PORT]);
    const ports = unique(input.ports ?? [DEFAULT_OLLAMA_PORT, DEFAULT_RPC_PORT]);
    const plan: ScanPlan = {
      range: parsed.range,
      ports,
      rpcPorts,
      concurrency: input.concurrency ?? DEFAULT_CONCURRENCY,
      timeoutMs: input.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      fingerprintTimeoutMs: input.fingerprintTimeoutMs ?? DEFAULT_FINGERPRINT_TIMEOUT_MS,
    };

    const id = randomUUID();
    const view: ScanView = {
      id,
      cidr: parsed.range.cidr,
      ports,
      rpcPorts: rpcPorts.filter((port) => ports.includes(port)),
      state: 'running',
      probed: 0,
      total: scanTotal(plan),
      startedAt: new Date().toISOString(),
      proposals: [],
      rejected: [],
    };
    const controller = new AbortController();
    // Every probe in flight listens for the abort, up to `concurrency` at once.
    setMaxListeners(0, controller.signal);
    const record: ScanRecord = { view, controller, finished: Promise.resolve(view) };
    this.scans.set(id, record);
    this.pruneFinished();

    this.log.info({ scanId: id, cidr: view.cidr, ports, total: view.total }, 'Scan started');
    record.finished = this.execute(record, plan);
    return { scanId: id, total: view.total };
  }

  cancel(scanId: string): { cancelled: boolean } {
    const record = this.requireScan(scanId);
    if (record.view.state !== 'running') return { cancelled: false };
    record.controller.abort();
    return { cancelled: true };
  }

  results(scanId?: string): ScanView[] {
    if (scanId !== undefined) return [snapshot(this.requireScan(scanId).view)];
    return [...this.scans.values()].map((record) => snapshot(record.view)).reverse();
  }

  /** Resolves with the scan's final view once it is done, cancelled or failed. */
  async wait(scanId: string): Promise<ScanView> {
    return snapshot(await this.requireScan(scanId).finished);
  }

  /** Adds the named proposals of a scan. Each one gets its own outcome; one failure stops none. */
  async add(scanId: string, ids: string[]): Promise<AddOutcome[]> {
    const record = this.requireScan(scanId);
    const outcomes: AddOutcome[] = [];
    for (const id of unique(ids)) {
      const proposal = record.view.proposals.find((candidate) => candidate.id === id);
      if (!proposal) {
        outcomes.push({ id, ok: false, error: `no proposal '${id}' in scan ${scanId}` });
        continue;
      }
      outcomes.push(await this.addProposal(proposal));
    }
    return outcomes;
  }

  /**
   * Checks OLLAMA_HOST and the default local address. An Ollama found on this machine is added
   * as a node unless a node with that URL exists; one elsewhere is only proposed.
   */
  async discoverLocal(): Promise<LocalDiscovery> {
    const found = await discoverLocal({
      env: this.options.env ?? process.env,
      localDefault: this.options.localDefault,
      isSelf: this.options.isSelf,
      probe: this.options.deps?.probe,
      fetch: this.options.deps?.fetch,
    });
    for (const message of found.warnings) this.log.warn({ source: 'OLLAMA_HOST' }, message);

    const existing = await this.existingNodeUrls();
    const added: AddOutcome[] = [];
    for (const proposal of found.local) {
      if (existing.has(normalizeUrl(proposal.address))) continue;
      added.push(await this.addProposal(proposal));
    }
    return { proposals: found.proposals, added, rejected: found.rejected };
  }

  /** Cancels every running scan and waits for them to end. */
  async stop(): Promise<void> {
    const running = [...this.scans.values()].filter((record) => record.view.state === 'running');
    for (const record of running) record.controller.abort();
    await Promise.all(running.map((record) => record.finished));
  }

  private async execute(record: ScanRecord, plan: ScanPlan): Promise<ScanView> {
    const { view, controller } = record;
    const interval = this.options.progressIntervalMs ?? 100;
    let lastEmit = 0;
    const emit = (force: boolean) => {
      const now = performance.now();
      if (!force && now - lastEmit < interval) return;
      lastEmit = now;
      this.options.events.emit('discovery:progress', progressOf(view));
    };

    emit(true);
    try {
      await runScan(
        plan,
        controller.signal,
        {
          onProbed: (probed) => {
            view.probed = probed;
            emit(false);
          },
          onProposal: (proposal) => {
            view.proposals.push(proposal);
            this.log.info({ scanId: view.id, proposal: proposal.id, verified: proposal.verified }, 'Service found');
            emit(true);
          },
          onRejected: (rejection) => {
            view.rejected.push(rejection);
            this.log.info({ scanId: view.id, host: rejection.host, port: rejection.port, reason: rejection.reason }, 'Open port rejected');
            emit(true);
          },
        },
        {
          probe: this.options.deps?.probe,
          fetch: this.options.deps?.fetch,
          checkRpc: this.options.checkRpc,
          isSelf: this.options.isSelf,
        },
      );
      view.state = controller.signal.aborted ? 'cancelled' : 'done';
    } catch (error) {
      view.state = 'failed';
      view.error = (error as Error)?.message ?? String(error);
      this.log.error({ scanId: view.id, err: error }, 'Scan failed');
    }
    view.finishedAt = new Date().toISOString();
    view.proposals.sort(compareProposals);
    this.log.info(
      { scanId: view.id, state: view.state, probed: view.probed, found: view.proposals.length },
      'Scan finished',
    );
    emit(true);
    return view;
  }

  private async addProposal(proposal: DiscoveryProposal): Promise<AddOutcome> {
    const channel = proposal.kind === 'ollama' ? 'nodes:add' : 'rpc:add';
    const args = proposal.kind === 'ollama' ? { url: proposal.address } : { endpoint: proposal.address };
    const result = await this.options.api.invoke(channel, args);
    if (!result.ok) {
      this.log.warn({ proposal: proposal.id, channel, error: result.error }, 'Adding a discovered service failed');
      return { id: proposal.id, ok: false, channel, error: result.error.message };
    }
    this.log.info({ proposal: proposal.id, channel }, 'Discovered service added');
    return { id: proposal.id, ok: true, channel, value: result.value };
  }

  private async existingNodeUrls(): Promise<Set<string>> {
    const result = await this.options.api.invoke('nodes:list', undefined);
    if (!result.ok || !Array.isArray(result.value)) return new Set();
    return new Set(
      (result.value as Array<{ url?: unknown }>)
        .map((node) => (typeof node.url === 'string' ? normalizeUrl(node.url) : ''))
        .filter((url) => url !== ''),
    );
  }

  private requireScan(scanId: string): ScanRecord {
    const record = this.scans.get(scanId);
    if (!record) throw new ApiFailure(ErrorCodes.notFound, `scan '${scanId}' not found`);
    return record;
  }

  private pruneFinished(): void {
    const limit = this.options.maxScansKept ?? 20;
    for (const [id, record] of this.scans) {
      if (this.scans.size <= limit) return;
      if (record.view.state !== 'running') this.scans.delete(id);
    }
  }
}

function progressOf(view: ScanView): ScanProgress {
  const { proposals, rejected, ...rest } = view;
  return { ...rest, ports: [...rest.ports], rpcPorts: [...rest.rpcPorts], found: proposals.length, rejectedCount: rejected.length };
}

function snapshot(view: ScanView): ScanView {
  return structuredClone(view);
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function compareProposals(a: { host: string; port: number }, b: { host: string; port: number }): number {
  return a.host.localeCompare(b.host, 'en', { numeric: true }) || a.port - b.port;
}

export function normalizeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`.toLowerCase();
  } catch {
    return url.trim().toLowerCase().replace(/\/+$/, '');
  }
}
