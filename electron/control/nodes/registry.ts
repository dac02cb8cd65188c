import { randomUUID } from 'node:crypto';
import type { LoadedModel, NodeHealth, NodeKind, NodeModel, NodeProblem, NodeView } from '../../../shared/types';
import { ErrorCodes } from '../../../shared/result';
import { ApiFailure } from '../core/api-registry';
import { saveOrRollback } from '../core/json-store';
import type { EventBus } from '../core/event-bus';
import type { Logger } from '../core/logger';
import { classifyProbe, nextCheckDelay } from './health';
import { normalizeNodeUrl } from './node-url';
import type { NodeStore, StoredNode } from './node-store';
import { toLoadedModel, toNodeModel } from './placement';
import { probeLoaded, probeNode } from './probe';

export type HealthSettings = {
  /** Delay between checks of a healthy node, in ms. */
  intervalMs: number;
  /** Per-probe timeout, in ms. */
  probeTimeoutMs: number;
  /** A probe slower than this marks the node degraded, in ms. */
  slowMs: number;
  /** Longest delay between checks of a node that stays down, in ms. */
  maxBackoffMs: number;
};

export const defaultHealthSettings: HealthSettings = {
  intervalMs: 5_000,
  probeTimeoutMs: 3_000,
  slowMs: 1_500,
  maxBackoffMs: 60_000,
};

/** Live traffic figures for one node, supplied by the router. */
export type NodeTraffic = { inFlight: number; ewmaLatencyMs?: number };

/** What the router reads about a node: plain data, copied at the time of the call. */
export type NodeSnapshot = {
  id: string;
  name: string;
  url: string;
  kind: NodeKind;
  health: NodeHealth;
  models: NodeModel[];
  loaded: LoadedModel[];
};

type NodeEntry = {
  id: string;
  url: string;
  name: string;
  kind: NodeKind;
  gpuVramBytes?: number;
  addedAt: string;
  persisted: boolean;
  health: NodeHealth;
  version?: string;
  lastError?: string;
  lastCheckedAt?: string;
  consecutiveFailures: number;
  models: NodeModel[];
  loaded: LoadedModel[];
  problems: NodeProblem[];
  timer?: NodeJS.Timeout;
  checking?: Promise<void>;
  refreshing?: Promise<void>;
  removed: boolean;
};

export type AddNodeOptions = { kind?: NodeKind; persist?: boolean };

/**
 * The fleet: user-added nodes (persisted) and nodes the control plane adds itself (embedded,
 * discovered). Each node has a health loop that probes it and emits `node:state` on change.
 */
export class NodeRegistry {
  private readonly nodes = new Map<string, NodeEntry>();
  private running = false;
  /** Set by the control plane so that node views carry the router's in-flight and latency figures. */
  trafficOf: (id: string) => NodeTraffic = () => ({ inFlight: 0 });
  /** Called after every health check with the health before and after it; errors are logged. */
  onHealthPass?: (id: string, previous: NodeHealth, current: NodeHealth) => void;

  constructor(
    private readonly store: NodeStore | null,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly settings: HealthSettings = defaultHealthSettings,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** Loads persisted nodes; call once before `start`. */
  async load(): Promise<void> {
    if (!this.store) return;
    const check = await this.store.checkWritable();
    if (!check.writable) {
      this.log.warn(
        { dataDir: this.store.dataDir, code: check.code, err: check.message },
        `Data folder ${this.store.dataDir} is not writable (${check.code}); added nodes and settings will not be saved. ` +
          'Make it writable or start with --data pointing at a writable folder',
      );
    }
    for (const stored of await this.store.load()) {
      const normalized = normalizeNodeUrl(stored.url);
      if (!normalized.ok || this.findByUrl(normalized.url)) continue;
      this.nodes.set(stored.id, this.newEntry({ ...stored, url: normalized.url }, 'ollama', true));
    }
  }

  /** Starts the health loops and waits for the first check of every node. */
  async start(): Promise<void> {
    this.running = true;
    await Promise.all([...this.nodes.values()].map((entry) => this.runCheck(entry)));
  }

  stop(): void {
    this.running = false;
    for (const entry of this.nodes.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
    }
  }

  list(): NodeView[] {
    return [...this.nodes.values()].map((entry) => this.view(entry));
  }

  get(id: string): NodeView | undefined {
    const entry = this.nodes.get(id);
    return entry ? this.view(entry) : undefined;
  }

  /** Returns the GPU memory the user entered for a node, in bytes, without building a whole view. */
  gpuVramOf(id: string): number | undefined {
    return this.nodes.get(id)?.gpuVramBytes;
  }

  /** Returns the models a node had loaded at its last `/api/ps` read, without building a whole view. */
  loadedOf(id: string): readonly LoadedModel[] | undefined {
    return this.nodes.get(id)?.loaded;
  }

  snapshots(): NodeSnapshot[] {
    return [...this.nodes.values()].map((entry) => ({
      id: entry.id,
      name: entry.name,
      url: entry.url,
      kind: entry.kind,
      health: entry.health,
      models: entry.models,
      loaded: entry.loaded,
    }));
  }

  findByUrl(url: string): NodeView | undefined {
    const normalized = normalizeNodeUrl(url);
    if (!normalized.ok) return undefined;
    for (const entry of this.nodes.values()) {
      if (entry.url === normalized.url) return this.view(entry);
    }
    return undefined;
  }

  /** Adds a node and runs its first health check before returning. */
  async add(
    input: { url: string; name?: string; gpuVramBytes?: number },
    options: AddNodeOptions = {},
  ): Promise<NodeView> {
    const normalized = normalizeNodeUrl(input.url);
    if (!normalized.ok) throw new ApiFailure(ErrorCodes.invalidArgument, normalized.message);
    const existing = this.findByUrl(normalized.url);
    if (existing) {
      throw new ApiFailure(ErrorCodes.conflict, `node ${normalized.url} is already in the fleet as '${existing.name}'`);
    }

    const persist = options.persist ?? true;
    const stored: StoredNode = {
      id: `node-${randomUUID().slice(0, 8)}`,
      url: normalized.url,
      name: input.name ?? new URL(normalized.url).host,
      gpuVramBytes: input.gpuVramBytes,
      addedAt: new Date().toISOString(),
    };
    const entry = this.newEntry(stored, options.kind ?? 'ollama', persist);
    this.nodes.set(entry.id, entry);
    if (persist) {
      await this.persistOrRollback(() => {
        entry.removed = true;
        this.nodes.delete(entry.id);
      });
    }
    this.log.info({ nodeId: entry.id, url: entry.url, kind: entry.kind }, `Added node ${entry.name}`);
    this.bus.emit('node:state', this.view(entry));
    if (this.running) await this.runCheck(entry);
    return this.view(entry);
  }

  async remove(id: string): Promise<boolean> {
    const entry = this.nodes.get(id);
    if (!entry) return false;
    const order = [...this.nodes.keys()];
    entry.removed = true;
    clearTimeout(entry.timer);
    this.nodes.delete(id);
    if (entry.persisted) {
      await this.persistOrRollback(() => {
        entry.removed = false;
        this.restoreAt(order, entry);
        this.schedule(entry);
      });
    }
    this.log.info({ nodeId: id, url: entry.url }, `Removed node ${entry.name}`);
    this.bus.emit('node:removed', { id });
    return true;
  }

  async update(input: { id: string; name?: string; gpuVramBytes?: number | null }): Promise<NodeView> {
    const entry = this.requireEntry(input.id);
    const previous = { name: entry.name, gpuVramBytes: entry.gpuVramBytes };
    if (input.name !== undefined) entry.name = input.name;
    if (input.gpuVramBytes === null) entry.gpuVramBytes = undefined;
    else if (input.gpuVramBytes !== undefined) entry.gpuVramBytes = input.gpuVramBytes;
    if (entry.persisted) {
      await this.persistOrRollback(() => {
        entry.name = previous.name;
        entry.gpuVramBytes = previous.gpuVramBytes;
      });
    }
    const view = this.view(entry);
    this.bus.emit('node:state', view);
    return view;
  }

  /**
   * Re-reads a node's `/api/ps` outside the health loop, so the router sees a model that a
   * request just loaded or unloaded. Calls for a node while one runs share it. Never throws.
   */
  refreshLoaded(id: string): Promise<void> {
    const entry = this.nodes.get(id);
    if (!entry || entry.health === 'down') return Promise.resolve();
    if (entry.refreshing) return entry.refreshing;
    entry.refreshing = probeLoaded(entry.url, { timeoutMs: this.settings.probeTimeoutMs, fetch: this.fetchImpl })
      .then((ps) => {
        if (!ps.ok || entry.removed) return;
        const before = signature(entry);
        entry.loaded = ps.value.map(toLoadedModel);
        if (signature(entry) !== before) this.bus.emit('node:state', this.view(entry));
      })
      .catch((error) => this.log.warn({ nodeId: id, err: error }, 'Reading /api/ps failed'))
      .finally(() => {
        entry.refreshing = undefined;
      });
    return entry.refreshing;
  }

  /** Runs a health check now and returns the node's state after it. */
  async check(id: string): Promise<NodeView> {
    const entry = this.requireEntry(id);
    await this.runCheck(entry);
    return this.view(entry);
  }

  private requireEntry(id: string): NodeEntry {
    const entry = this.nodes.get(id);
    if (!entry) throw new ApiFailure(ErrorCodes.notFound, `node '${id}' not found`);
    return entry;
  }

  private newEntry(stored: StoredNode, kind: NodeKind, persisted: boolean): NodeEntry {
    return {
      ...stored,
      kind,
      persisted,
      health: 'unknown',
      consecutiveFailures: 0,
      models: [],
      loaded: [],
      problems: [],
      removed: false,
    };
  }

  /**
   * Saves the persisted nodes. When the save fails, runs `rollback` so memory matches the file
   * again, and throws an ApiFailure that names the data folder when it cannot be written.
   */
  private async persistOrRollback(rollback: () => void): Promise<void> {
    const dataDir = this.store?.dataDir ?? '(none)';
    try {
      await saveOrRollback(dataDir, 'the node list', () => this.persist(), rollback);
    } catch (error) {
      this.log.error({ dataDir, err: (error as Error).message }, 'Saving the node list failed');
      throw error;
    }
  }

  /** Puts `entry` back at its former position, given the key order from before it was removed. */
  private restoreAt(order: string[], entry: NodeEntry): void {
    const current = new Map(this.nodes);
    this.nodes.clear();
    for (const id of order) {
      const node = id === entry.id ? entry : current.get(id);
      if (node) this.nodes.set(id, node);
      current.delete(id);
    }
    for (const [id, node] of current) this.nodes.set(id, node);
  }

  private async persist(): Promise<void> {
    if (!this.store) return;
    const nodes: StoredNode[] = [...this.nodes.values()]
      .filter((entry) => entry.persisted)
      .map(({ id, url, name, gpuVramBytes, addedAt }) => ({ id, url, name, gpuVramBytes, addedAt }));
    await this.store.save(nodes);
  }

  /** Runs one check, or joins the one in progress, then schedules the next. */
  private runCheck(entry: NodeEntry): Promise<void> {
    if (entry.checking) return entry.checking;
    clearTimeout(entry.timer);
    entry.checking = this.checkOnce(entry)
      .catch((error) => this.log.error({ nodeId: entry.id, err: error }, 'Health check failed unexpectedly'))
      .finally(() => {
        entry.checking = undefined;
        this.schedule(entry);
      });
    return entry.checking;
  }

  private schedule(entry: NodeEntry): void {
    if (!this.running || entry.removed) return;
    const delay = nextCheckDelay(
      entry.health,
      entry.consecutiveFailures,
      this.settings.intervalMs,
      this.settings.maxBackoffMs,
    );
    entry.timer = setTimeout(() => void this.runCheck(entry), delay);
    entry.timer.unref();
  }

  private async checkOnce(entry: NodeEntry): Promise<void> {
    const report = await probeNode(entry.url, { timeoutMs: this.settings.probeTimeoutMs, fetch: this.fetchImpl });
    if (entry.removed) return;
    const verdict = classifyProbe(report, this.settings.slowMs);
    const before = signature(entry);
    const previousHealth = entry.health;
    const now = new Date().toISOString();

    entry.health = verdict.health;
    entry.lastCheckedAt = now;
    entry.lastError = verdict.problems[0];
    entry.consecutiveFailures = verdict.health === 'down' ? entry.consecutiveFailures + 1 : 0;
    if (report.version.ok) entry.version = report.version.value;
    // A standalone embedded node (`npm run node`) added by URL cannot pull or delete models.
    if (report.reportedKind === 'embedded' && entry.kind === 'ollama') entry.kind = 'embedded';
    if (report.tags.ok) entry.models = report.tags.value.map(toNodeModel);
    if (report.ps.ok) entry.loaded = report.ps.value.map(toLoadedModel);
    if (verdict.health === 'down') entry.loaded = [];
    entry.problems = verdict.problems.map((message) => {
      const kind = verdict.health === 'down' ? 'unreachable' : 'probe';
      const since = entry.problems.find((p) => p.message === message)?.since ?? now;
      return { kind, message, since };
    });

    if (previousHealth !== entry.health) {
      const fields = { nodeId: entry.id, url: entry.url, from: previousHealth, to: entry.health, problem: entry.lastError };
      const message = `node ${entry.name} is ${entry.health}`;
      if (entry.health === 'down' || entry.health === 'degraded') this.log.warn(fields, message);
      else this.log.info(fields, message);
    }
    if (signature(entry) !== before) this.bus.emit('node:state', this.view(entry));
    try {
      this.onHealthPass?.(entry.id, previousHealth, entry.health);
    } catch (error) {
      this.log.error({ nodeId: entry.id, err: error }, 'Health pass hook failed');
    }
  }

  private view(entry: NodeEntry): NodeView {
    const traffic = this.trafficOf(entry.id);
    return {
      id: entry.id,
      url: entry.url,
      name: entry.name,
      kind: entry.kind,
      health: entry.health,
      version: entry.version,
      lastError: entry.lastError,
      lastCheckedAt: entry.lastCheckedAt,
      consecutiveFailures: entry.consecutiveFailures,
      models: entry.models,
      loaded: entry.loaded,
      inFlight: traffic.inFlight,
      ewmaLatencyMs: traffic.ewmaLatencyMs,
      gpuVramBytes: entry.gpuVramBytes,
      problems: entry.problems,
    };
  }
}

/** Fields whose change is worth a `node:state` event; timestamps alone are not. */
function signature(entry: NodeEntry): string {
  return JSON.stringify([
    entry.health,
    entry.version,
    entry.problems.map((p) => p.message),
    entry.models.map((m) => [m.name, m.digest]),
    entry.loaded.map((m) => [m.name, m.digest, m.sizeVramBytes, m.contextLength]),
  ]);
}
