import type { DistributedModelView, DistributedState, LayerMap } from '../../../shared/api/distributed';
import type { Logger } from '../core/logger';
import { OllamaAdapter, type AdapterModel } from './adapter/server';
import { DEFAULT_RESTART_POLICY, nextRestartDelay, type RestartPolicy } from './backoff';
import { buildLlamaServerArgs, parseEndpoint } from './flags';
import { parseLayerMap, withDerivedLayerRanges, parseModelFacts } from './layer-map';
import { LlamaServerProcess } from './llama-server';
import { findFreePort, probeTcp } from './net';

export type DistributedModelConfig = {
  id: string;
  name: string;
  modelPath: string;
  model: Omit<AdapterModel, 'family' | 'parameterSize' | 'quantizationLevel'> & Partial<AdapterModel>;
  binary: string;
  backends: string[];
  excluded: Array<{ endpoint: string; reason: string }>;
  tensorSplit?: number[];
  ctx?: number;
  gpuLayers?: number;
  parallel?: number;
  threads?: number;
  noWebui: boolean;
  log: Logger;
  policy?: RestartPolicy;
  /** How often backends are probed while the model runs or waits for them. */
  watchIntervalMs?: number;
  stallTimeoutMs?: number;
  onState: (view: DistributedModelView) => void;
  onLayers: (id: string, layers: LayerMap) => void;
  onLine: (line: string) => void;
};

/**
 * Supervises one distributed model: a stable Ollama adapter in front of a llama-server that
 * changes port on every restart. When a backend stops accepting connections or llama-server
 * exits, requests in flight end with an error, and llama-server is started again only once every
 * backend it needs accepts connections, at most `policy.maxRestarts` times per window.
 */
export class DistributedModel {
  private readonly adapter: OllamaAdapter;
  private proc: LlamaServerProcess | null = null;
  private state: DistributedState = 'loading';
  private lastError: string | undefined;
  private layers: LayerMap | null = null;
  private args: string[] = [];
  private loadMs: number | undefined;
  private pendingLoadNs = 0;
  private restarts = 0;
  private readonly restartTimes: number[] = [];
  private watchTimer: NodeJS.Timeout | null = null;
  private watching = false;
  /** Earliest time of the next llama-server restart, from the backoff policy. */
  private restartNotBefore = 0;
  private stopped = false;
  private readonly startedAt = new Date().toISOString();
  private facts: ReturnType<typeof parseModelFacts> = {};

  constructor(private readonly config: DistributedModelConfig) {
    this.adapter = new OllamaAdapter({
      log: config.log.child({ part: 'adapter' }),
      model: () => ({
        ...config.model,
        family: config.model.family ?? this.facts.architecture,
        parameterSize: config.model.parameterSize ?? this.facts.parameterSize,
        quantizationLevel: config.model.quantizationLevel ?? this.facts.fileType,
      }),
      status: () => ({
        upstream: this.state === 'ready' && this.proc ? this.proc.url : null,
        unavailableReason: this.unavailableReason(),
        takeLoadNs: () => {
          const ns = this.pendingLoadNs;
          this.pendingLoadNs = 0;
          return ns;
        },
        sizeVramBytes: this.layers?.offloadedBytes ?? 0,
        contextLength: this.facts.contextLength ?? this.config.ctx,
        layers: this.layers,
      }),
    });
  }

  get id(): string {
    return this.config.id;
  }

  get url(): string {
    return this.adapter.url;
  }

  view(): DistributedModelView {
    return {
      id: this.config.id,
      name: this.config.name,
      modelPath: this.config.modelPath,
      state: this.state,
      url: this.adapter.url,
      backends: [...this.config.backends],
      excluded: [...this.config.excluded],
      tensorSplit: this.config.tensorSplit,
      ctx: this.config.ctx,
      args: [...this.args],
      restarts: this.restarts,
      lastError: this.lastError,
      loadMs: this.loadMs,
      layers: this.layers,
      startedAt: this.startedAt,
    };
  }

  layerMap(): LayerMap | null {
    return this.layers;
  }

  /** Opens the adapter and loads the model; rejects, with everything stopped, when the first load fails. */
  async start(): Promise<DistributedModelView> {
    await this.adapter.listen(0);
    try {
      await this.launch();
    } catch (error) {
      await this.stop();
      this.setState('failed', (error as Error).message);
      throw error;
    }
    this.startWatch();
    return this.view();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = null;
    await this.adapter.close();
    await this.proc?.stop();
    this.proc = null;
    if (this.state !== 'failed') this.setState('stopped');
  }

  private unavailableReason(): string {
    switch (this.state) {
      case 'loading':
      case 'restarting':
        return `model '${this.config.name}' is loading on llama-server; try again shortly`;
      case 'waiting-backends':
        return `model '${this.config.name}' is waiting for its RPC backends: ${this.lastError ?? 'a backend is down'}`;
      case 'failed':
        return `model '${this.config.name}' failed: ${this.lastError ?? 'unknown error'}`;
      default:
        return `model '${this.config.name}' is not running`;
    }
  }

  private setState(state: DistributedState, error?: string): void {
    this.state = state;
    if (error !== undefined) this.lastError = error;
    this.config.onState(this.view());
  }

  private async launch(): Promise<void> {
    const port = await findFreePort();
    this.args = buildLlamaServerArgs({
      modelPath: this.config.modelPath,
      port,
      rpc: this.config.backends,
      gpuLayers: this.config.gpuLayers ?? 'all',
      tensorSplit: this.config.tensorSplit,
      ctx: this.config.ctx,
      parallel: this.config.parallel,
      threads: this.config.threads,
      noWebui: this.config.noWebui,
      alias: this.config.name,
    });
    this.setState(this.restarts > 0 ? 'restarting' : 'loading');
    const started = Date.now();
    const proc = new LlamaServerProcess({
      binary: this.config.binary,
      args: this.args,
      port,
      log: this.config.log,
      onLine: this.config.onLine,
      stallTimeoutMs: this.config.stallTimeoutMs,
      onExit: ({ message }) => this.onProcessExit(proc, message),
    });
    this.proc = proc;
    await proc.start();

    this.loadMs = Date.now() - started;
    this.pendingLoadNs = this.loadMs * 1_000_000;
    const lines = proc.sink.allLines();
    this.layers = withDerivedLayerRanges(parseLayerMap(lines), { backends: this.config.backends, tensorSplit: this.config.tensorSplit });
    this.facts = parseModelFacts(lines);
    this.config.onLayers(this.config.id, this.layers);
    this.lastError = undefined;
    this.setState('ready');
  }

  private onProcessExit(proc: LlamaServerProcess, message: string): void {
    if (proc !== this.proc || this.stopped || this.state !== 'ready') return;
    const failed = this.adapter.failInFlight(message);
    this.config.log.warn({ id: this.config.id, failedRequests: failed, message }, 'llama-server exited while serving');
    this.proc = null;
    this.setState('waiting-backends', message);
  }

  /**
   * Stops llama-server after one of its backends went away or restarted, because a restarted RPC
   * server has lost the tensors llama-server placed on it. Requests in flight end with an error.
   */
  async backendLost(endpoint: string, why: string): Promise<void> {
    if (this.stopped || this.state !== 'ready' || !this.config.backends.includes(endpoint)) return;
    const message = `RPC backend ${endpoint} ${why}`;
    const failed = this.adapter.failInFlight(message);
    this.config.log.warn({ id: this.config.id, endpoint, failedRequests: failed }, 'RPC backend lost; stopping llama-server');
    this.setState('waiting-backends', message);
    const proc = this.proc;
    this.proc = null;
    await proc?.stop();
  }

  private startWatch(): void {
    const interval = this.config.watchIntervalMs ?? 1000;
    this.watchTimer = setInterval(() => {
      if (this.watching || this.stopped) return;
      this.watching = true;
      this.tick()
        .catch((error: Error) => this.config.log.error({ id: this.config.id, err: error }, 'Distributed model watch failed'))
        .finally(() => (this.watching = false));
    }, interval);
    this.watchTimer.unref?.();
  }

  /** Finds the first backend that does not accept a TCP connection, or null when all do. */
  private async firstDownBackend(): Promise<{ endpoint: string; reason: string } | null> {
    for (const endpoint of this.config.backends) {
      const parsed = parseEndpoint(endpoint);
      if ('error' in parsed) return { endpoint, reason: parsed.error };
      const probe = await probeTcp(parsed.host, parsed.port, 1500);
      if (!probe.ok) return { endpoint, reason: probe.reason };
    }
    return null;
  }

  private async tick(): Promise<void> {
    // A ready model is not probed. ggml-rpc-server listens with a backlog of 1 and serves one
    // client at a time, so probe connections queue behind llama-server's and time out.
    // A backend that dies shows up instead through llama-server's exit, because it aborts on a
    // broken RPC connection, and for local rpc-servers through their supervisor's exit event.
    if (this.state !== 'waiting-backends') return;

    const down = await this.firstDownBackend();
    if (down) {
      this.lastError = `RPC backend ${down.endpoint} is down (${down.reason})`;
      return;
    }
    if (Date.now() < this.restartNotBefore) return;
    const delay = nextRestartDelay(this.restartTimes, Date.now(), this.config.policy ?? DEFAULT_RESTART_POLICY);
    if (delay === null) {
      this.setState('failed', `llama-server restart limit reached; last error: ${this.lastError ?? 'unknown'}`);
      return;
    }
    if (this.restartNotBefore === 0) {
      this.restartNotBefore = Date.now() + delay;
      return;
    }
    this.restartNotBefore = 0;
    this.restartTimes.push(Date.now());
    this.restarts += 1;
    this.config.log.info({ id: this.config.id, restarts: this.restarts }, 'All RPC backends accept connections again; restarting llama-server');
    try {
      await this.launch();
    } catch (error) {
      if (this.stopped) return;
      this.proc = null;
      this.setState('waiting-backends', (error as Error).message);
    }
  }
}
