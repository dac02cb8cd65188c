import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, resolve as resolvePath } from 'node:path';
import type {
  DistributedModelView,
  LayerMap,
  LlamaBinariesView,
  RpcBackendView,
} from '../../../shared/api/distributed';
import { ErrorCodes } from '../../../shared/result';
import { ApiFailure } from '../core/api-registry';
import { ModelCatalog } from '../embedded/catalog';
import type { EventBus } from '../core/event-bus';
import type { Logger } from '../core/logger';
import { resolveOllamaModel } from '../ollama-store';
import { findLlamaBinaries, type BinaryReport } from './binaries';
import { checkRpcBackend, type BackendCheck } from './devices';
import { DistributedModel } from './distributed-model';
import { isLoopbackHost, tensorSplitFromFreeMemory } from './flags';
import { findFreePort } from './net';
import { LocalRpcServer } from './rpc-server';
import { RpcBackendStore } from './rpc-store';

export type DistributedServiceOptions = {
  dataDir: string;
  bus: EventBus;
  log: Logger;
  /** Called when a distributed model's adapter is ready to serve; register it as a node of kind 'llama-server'. */
  onAdapterUp?: (node: { name: string; url: string }) => void;
  /** Called when an adapter closes; remove the node with this URL. */
  onAdapterDown?: (url: string) => void;
  /** Binary paths that take precedence over PATH and the build cache. */
  binaries?: { llamaServer?: string; rpcServer?: string };
  /** Ollama store folders for model names; default the resolver's own. */
  ollamaDirs?: string[];
  /** The embedded node's GGUF folder; model names are looked up here before the Ollama store. */
  modelsDir?: string;
  watchIntervalMs?: number;
  stallTimeoutMs?: number;
};

export type StartLocalRpcArgs = {
  host: string;
  port?: number;
  threads?: number;
  device?: string[];
  memMiB?: number;
  cache?: boolean;
  register: boolean;
};

export type StartDistributedArgs = {
  model: string;
  name?: string;
  backends?: string[];
  ctx?: number;
  tensorSplit?: number[];
  gpuLayers?: number;
  parallel?: number;
  threads?: number;
};

const BUILD_HINT = 'run `npm run llama:build` to build llama-server and ggml-rpc-server from the bundled llama.cpp source';

/**
 * RPC backends, local RPC servers and distributed models behind Ollama adapters. Every change is
 * published on the event bus (`rpc:state`, `distributed:state`, `distributed:layers`,
 * `distributed:removed`, `llama:log`).
 */
export class DistributedService {
  private readonly store: RpcBackendStore;
  private readonly checks = new Map<string, BackendCheck>();
  private readonly locals = new Map<string, LocalRpcServer>();
  private readonly models = new Map<string, DistributedModel>();
  private binaries: BinaryReport | null = null;
  private helpText = new Map<string, string>();
  private readonly log: Logger;
  private nextId = 1;

  constructor(private readonly options: DistributedServiceOptions) {
    this.log = options.log.child({ component: 'llamacpp' });
    this.store = new RpcBackendStore(options.dataDir);
  }

  async init(): Promise<void> {
    await this.store.load();
    if (this.store.loadProblem) this.log.error({ path: this.store.path, problem: this.store.loadProblem }, 'RPC backend list unreadable; starting empty');
  }

  async close(): Promise<void> {
    for (const [id, model] of this.models) {
      await this.stopModel(model);
      this.options.bus.emit('distributed:removed', { id });
    }
    this.models.clear();
    for (const local of this.locals.values()) await local.stop();
    this.locals.clear();
  }

  async getBinaries(refresh = false): Promise<LlamaBinariesView> {
    if (!this.binaries || refresh) {
      this.binaries = await findLlamaBinaries({
        configured: { 'llama-server': this.options.binaries?.llamaServer, 'rpc-server': this.options.binaries?.rpcServer },
      });
    }
    const b = this.binaries;
    return { ...b, ...(!b.llamaServer || !b.rpcServer ? { hint: BUILD_HINT } : {}) };
  }

  private async requireBinary(kind: 'llamaServer' | 'rpcServer'): Promise<string> {
    let report = await this.getBinaries();
    if (!report[kind]) report = await this.getBinaries(true);
    const found = report[kind];
    if (!found) {
      const name = kind === 'llamaServer' ? 'llama-server' : 'ggml-rpc-server';
      throw new ApiFailure(ErrorCodes.unavailable, `${name} not found on PATH or in the build cache; ${BUILD_HINT}`);
    }
    return found.path;
  }

  /** Returns `binary --help` output, cached, to check which flags this build has. */
  private async help(binary: string): Promise<string> {
    const cached = this.helpText.get(binary);
    if (cached !== undefined) return cached;
    const text = await new Promise<string>((resolve) => {
      let out = '';
      const child = spawn(binary, ['--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.on('error', () => resolve(out));
      child.on('close', () => {
        clearTimeout(timer);
        resolve(out);
      });
    });
    this.helpText.set(binary, text);
    return text;
  }

  // RPC backends

  listBackends(): RpcBackendView[] {
    return this.store.list().map((record) => this.backendView(record.endpoint));
  }

  private backendView(endpoint: string): RpcBackendView {
    const record = this.store.list().find((b) => b.endpoint === endpoint);
    const check = this.checks.get(endpoint);
    const local = this.locals.get(endpoint)?.snapshot();
    const problems: RpcBackendView['problems'] = [];
    const since = check?.checkedAt ?? new Date().toISOString();
    if (check && check.status !== 'ok') problems.push({ kind: check.status, message: check.reason, since });
    const host = endpoint.slice(0, endpoint.lastIndexOf(':'));
    if (local?.exposed || (record && !isLoopbackHost(host))) {
      problems.push({
        kind: 'exposed',
        message: `RPC traffic to ${endpoint} is unauthenticated and unencrypted; keep RPC servers on loopback or a trusted network`,
        since,
      });
    }
    if (local?.state === 'failed') problems.push({ kind: 'local-failed', message: local.lastError ?? 'local RPC server failed', since });
    return {
      endpoint,
      name: record?.name,
      addedAt: record?.addedAt ?? new Date().toISOString(),
      status: check?.status ?? 'unknown',
      reason: check && check.status !== 'ok' ? check.reason : undefined,
      checkedAt: check?.checkedAt,
      devices: check?.status === 'ok' ? check.devices : [],
      ...(local
        ? { local: { pid: local.pid, state: local.state, restarts: local.restarts, lastError: local.lastError, exposed: local.exposed } }
        : {}),
      problems,
    };
  }

  private publishBackend(endpoint: string): RpcBackendView {
    const view = this.backendView(endpoint);
    this.options.bus.emit('rpc:state', view);
    return view;
  }

  async addBackend(endpoint: string, name?: string): Promise<RpcBackendView> {
    await this.store.add(endpoint, name);
    return this.checkBackend(endpoint);
  }

  async removeBackend(endpoint: string): Promise<{ removed: boolean }> {
    const removed = await this.store.remove(endpoint);
    this.checks.delete(endpoint);
    if (removed) this.options.bus.emit('rpc:state', { endpoint, removed: true });
    return { removed };
  }

  async checkBackend(endpoint: string): Promise<RpcBackendView> {
    const binary = await this.requireBinary('llamaServer');
    const check = await checkRpcBackend(binary, endpoint);
    this.checks.set(endpoint, check);
    if (check.status !== 'ok') this.log.warn({ endpoint, status: check.status, reason: check.reason }, 'RPC backend check failed');
    return this.publishBackend(endpoint);
  }

  async startLocalRpc(args: StartLocalRpcArgs): Promise<RpcBackendView> {
    const binary = await this.requireBinary('rpcServer');
    if (args.memMiB !== undefined && !(await this.help(binary)).includes('--mem')) {
      throw new ApiFailure(ErrorCodes.invalidArgument, `memMiB: this RPC server build (${binary}) has no --mem option; omit memMiB`);
    }
    const port = args.port || (await findFreePort());
    const endpoint = `${args.host}:${port}`;
    if (this.locals.has(endpoint)) throw new ApiFailure(ErrorCodes.conflict, `a local RPC server already runs on ${endpoint}`);
    const server = new LocalRpcServer({
      binary,
      host: args.host,
      port,
      threads: args.threads,
      device: args.device,
      memMiB: args.memMiB,
      cache: args.cache,
      log: this.log.child({ rpc: endpoint }),
      onLine: (line) => this.options.bus.emit('llama:log', { source: 'rpc-server', id: endpoint, line }),
      onState: (view) => {
        this.publishBackend(endpoint);
        if (view.state === 'restarting' || view.state === 'failed') this.notifyBackendLost(endpoint, `exited (${view.lastError ?? 'no reason captured'})`);
      },
    });
    this.locals.set(endpoint, server);
    try {
      await server.start();
    } catch (error) {
      this.locals.delete(endpoint);
      await server.stop();
      throw new ApiFailure(ErrorCodes.unavailable, (error as Error).message);
    }
    if (args.register) await this.store.add(endpoint, `local ${endpoint}`);
    return this.checkBackend(endpoint);
  }

  private notifyBackendLost(endpoint: string, why: string): void {
    for (const model of this.models.values()) {
      model.backendLost(endpoint, why).catch((error: Error) => this.log.error({ endpoint, err: error }, 'Stopping llama-server after a backend loss failed'));
    }
  }

  async stopLocalRpc(endpoint: string): Promise<{ stopped: boolean }> {
    const server = this.locals.get(endpoint);
    if (!server) return { stopped: false };
    await server.stop();
    this.locals.delete(endpoint);
    this.notifyBackendLost(endpoint, 'was stopped');
    this.publishBackend(endpoint);
    return { stopped: true };
  }

  // Distributed models

  listModels(): DistributedModelView[] {
    return [...this.models.values()].map((m) => withLocalOnlyWarning(m.view()));
  }

  layers(id: string): LayerMap | null {
    const model = this.models.get(id);
    if (!model) throw new ApiFailure(ErrorCodes.notFound, `distributed model '${id}' not found`);
    return model.layerMap();
  }

  async startModel(args: StartDistributedArgs): Promise<DistributedModelView> {
    const binary = await this.requireBinary('llamaServer');
    const resolved = await this.resolveModel(args.model);
    const name = args.name ?? resolved.name;
    if ([...this.models.values()].some((m) => m.view().name === name && m.view().state !== 'stopped')) {
      throw new ApiFailure(ErrorCodes.conflict, `distributed model '${name}' is already running; stop it first`);
    }

    // Check every requested backend; the ones that fail are left out with their reason.
    const requested = args.backends ?? this.store.list().map((b) => b.endpoint);
    const usable: BackendCheck[] = [];
    const excluded: Array<{ endpoint: string; reason: string }> = [];
    for (const endpoint of requested) {
      const check = await checkRpcBackend(binary, endpoint);
      this.checks.set(endpoint, check);
      if (this.store.has(endpoint)) this.publishBackend(endpoint);
      if (check.status === 'ok') usable.push(check);
      else excluded.push({ endpoint, reason: check.reason });
    }
    if (args.backends && args.backends.length > 0 && usable.length === 0) {
      throw new ApiFailure(
        ErrorCodes.unavailable,
        `no requested RPC backend is usable: ${excluded.map((e) => `${e.endpoint}: ${e.reason}`).join('; ')}`,
      );
    }
    if (args.tensorSplit && args.tensorSplit.length !== usable.length) {
      throw new ApiFailure(
        ErrorCodes.invalidArgument,
        `tensorSplit has ${args.tensorSplit.length} entries but ${usable.length} RPC backend(s) are usable`,
      );
    }
    const tensorSplit = args.tensorSplit ?? tensorSplitFromFreeMemory(usable.map((c) => (c.status === 'ok' ? sumFree(c) : undefined)));

    const id = `dist-${this.nextId++}`;
    const log = this.log.child({ distributed: id, model: name });
    const model = new DistributedModel({
      id,
      name,
      modelPath: resolved.path,
      model: { name, digest: resolved.digest, sizeBytes: resolved.sizeBytes, modifiedAt: resolved.modifiedAt },
      binary,
      backends: usable.map((c) => c.endpoint),
      excluded,
      tensorSplit: usable.length > 1 ? tensorSplit : undefined,
      ctx: args.ctx,
      gpuLayers: args.gpuLayers,
      parallel: args.parallel,
      threads: args.threads,
      noWebui: (await this.help(binary)).includes('--no-webui'),
      log,
      watchIntervalMs: this.options.watchIntervalMs,
      stallTimeoutMs: this.options.stallTimeoutMs,
      onState: (view) => this.options.bus.emit('distributed:state', withLocalOnlyWarning(view)),
      onLayers: (modelId, layers) => this.options.bus.emit('distributed:layers', { id: modelId, layers }),
      onLine: (line) => this.options.bus.emit('llama:log', { source: 'llama-server', id, line }),
    });
    this.models.set(id, model);
    try {
      const view = withLocalOnlyWarning(await model.start());
      if (view.warning) log.warn({ excluded }, view.warning);
      this.options.onAdapterUp?.({ name: `${name} (distributed)`, url: model.url });
      return view;
    } catch (error) {
      this.models.delete(id);
      this.options.bus.emit('distributed:removed', { id });
      throw new ApiFailure(ErrorCodes.unavailable, `distributed model '${name}' failed to start: ${(error as Error).message}`);
    }
  }

  async stopModelById(id: string): Promise<{ stopped: boolean }> {
    const model = this.models.get(id);
    if (!model) return { stopped: false };
    await this.stopModel(model);
    this.models.delete(id);
    this.options.bus.emit('distributed:removed', { id });
    return { stopped: true };
  }

  private async stopModel(model: DistributedModel): Promise<void> {
    const url = model.url;
    await model.stop();
    if (url) this.options.onAdapterDown?.(url);
  }

  /** Resolves a gguf path or an Ollama store name to a file, its digest and size. */
  private async resolveModel(model: string): Promise<{ name: string; path: string; digest: string; sizeBytes: number; modifiedAt: string }> {
    if (isPathLike(model)) {
      const path = resolvePath(model);
      const info = await stat(path).catch(() => null);
      if (!info?.isFile()) throw new ApiFailure(ErrorCodes.notFound, `model file '${model}' not found`);
      return {
        name: basename(path).replace(/\.gguf$/i, ''),
        path,
        digest: await sha256File(path),
        sizeBytes: info.size,
        modifiedAt: info.mtime.toISOString(),
      };
    }
    if (this.options.modelsDir) {
      const local = await new ModelCatalog(this.options.modelsDir, undefined, this.log).find(model);
      if (local) {
        return { name: local.name, path: local.path, digest: local.digest, sizeBytes: local.sizeBytes, modifiedAt: local.modifiedAt };
      }
    }
    const stored = await resolveOllamaModel(model, this.options.ollamaDirs);
    if (!stored) {
      const folder = this.options.modelsDir ? ` in the models folder ${this.options.modelsDir},` : '';
      throw new ApiFailure(ErrorCodes.notFound, `model '${model}' not found${folder} in the Ollama store, and not a .gguf path`);
    }
    return { name: stored.name, path: stored.path, digest: stored.digest, sizeBytes: stored.sizeBytes, modifiedAt: stored.modifiedAt };
  }
}

/** Adds a warning to a running model's view when no RPC backend takes part in it. */
function withLocalOnlyWarning(view: DistributedModelView): DistributedModelView {
  if (view.backends.length > 0 || view.state === 'stopped' || view.state === 'failed') return view;
  const reasons = view.excluded.map((entry) => `${entry.endpoint}: ${entry.reason}`).join('; ');
  const cause = reasons ? `no RPC backend is usable (${reasons})` : 'no RPC backend is registered';
  return { ...view, warning: `${cause}, so '${view.name}' runs on the local llama-server only` };
}

/** Tells whether `model` is a `.gguf` file or a path. Anything else is a model name. */
function isPathLike(model: string): boolean {
  return /\.gguf$/i.test(model) || model.startsWith('/') || model.startsWith('./') || model.startsWith('../');
}

function sumFree(check: BackendCheck): number | undefined {
  return check.status === 'ok' ? check.devices.reduce((s, d) => s + d.freeMiB, 0) : undefined;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => hash.update(c))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}
