import { join } from 'node:path';
import type { ModelSummary, SystemInfo } from '../../shared/api/system';
import type { GatewayStatus } from '../../shared/types';
import { ApiRegistry } from './core/api-registry';
import { EventBus } from './core/event-bus';
import { createRootLogger, type Logger } from './core/logger';
import { discoverLocal } from './discovery/local';
import { Gateway, type GatewayOptions } from './gateway/gateway';
import { NodeStore } from './nodes/node-store';
import { isLoopbackHost, normalizeNodeUrl } from './nodes/node-url';
import { ApiFailure } from './core/api-registry';
import { ErrorCodes } from '../../shared/result';
import { defaultHealthSettings, NodeRegistry, type HealthSettings } from './nodes/registry';
import { canonicalModelName } from './ollama-store/model-name';
import { Router } from './router/router';
import { startEmbeddedNode } from './embedded';
import { attachServices } from './services';
import { createMetrics, registerMetricsApi, type Metrics } from './metrics';
import { ClosedLoop, type ClosedLoopTuning } from './router/closed-loop';

export const appVersion = '0.1.0';

export type ControlPlaneConfig = {
  /** Folder for `nodes.json` and other state. */
  dataDir: string;
  /** Gateway interface; 127.0.0.1 by default. Any other than loopback requires `token`. */
  host?: string;
  /** Gateway port; 11434 (Ollama's) by default, 0 for a free one. */
  port?: number;
  /** Port taken when `port` is in use; 11435 by default when `port` is 11434. */
  fallbackPort?: number;
  /** Stall limits of relayed responses; the defaults suit real nodes, tests shorten them. */
  gatewayTuning?: Pick<GatewayOptions, 'streamStallMs' | 'downNodeStallMs' | 'stallCheckEveryMs'>;
  /** Browser origins allowed on the gateway besides the defaults; default: `OLLAMA_ORIGINS`. */
  allowedOrigins?: string[];
  /** GGUF folder of the embedded node; giving it starts the embedded node. */
  modelsDir?: string;
  /** true: always start the embedded node; false: never; unset: when no local Ollama responds. */
  embedded?: boolean;
  /** Bearer token the gateway requires. */
  token?: string;
  log?: Logger;
  health?: Partial<HealthSettings>;
  /** Look for an Ollama at OLLAMA_HOST and 127.0.0.1:11434 on start; true by default. */
  discoverLocal?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Interval of `stats:figures` events, in ms. */
  figuresIntervalMs?: number;
  /** Hedge delays, hedge share and placement cooldown of the closed routing loop. */
  closedLoop?: ClosedLoopTuning;
  /**
   * When the gateway cannot listen, return from `start` at once with the failed status and
   * start nothing else (serve mode exits then). Electron keeps running without a gateway.
   */
  requireGateway?: boolean;
};

/** A service wired in by the application (agents, UI server); stopped before the plane. */
export type Attachment = {
  name: string;
  /** Runs at the end of `ControlPlane.start`, once the gateway and the fleet are up. */
  start?(): Promise<void>;
  stop(): Promise<void> | void;
};

type EmbeddedHandle = { url: string; port: number; close(): Promise<void> };

/**
 * The headless control plane: node fleet, router, Ollama-compatible gateway and the API table.
 * Runs the same under Electron and plain Node. Other services plug in with `attach`.
 */
export class ControlPlane {
  readonly bus = new EventBus();
  readonly log: Logger;
  readonly api: ApiRegistry;
  readonly nodes: NodeRegistry;
  readonly router: Router;
  readonly gateway: Gateway;
  /** Time series, Prometheus text and the batched `metrics:tick` event. */
  readonly metrics: Metrics;
  /** Services built on the fleet; see services.ts. */
  readonly services: ReturnType<typeof attachServices>;
  readonly closedLoop: ClosedLoop;
  /** The embedded node while it runs. */
  embedded: EmbeddedHandle | null = null;
  private readonly attachments: Attachment[] = [];
  /** Other servers of this process (the web UI) that must not be added as nodes. */
  private readonly ownServers: Array<{ port: number; label: string }> = [];
  private figuresTimer?: NodeJS.Timeout;
  private started = false;

  constructor(readonly config: ControlPlaneConfig) {
    this.log = config.log ?? createRootLogger();
    this.api = new ApiRegistry(this.log.child({ component: 'api' }));
    this.nodes = new NodeRegistry(
      new NodeStore(config.dataDir, this.log.child({ component: 'nodes' })),
      this.bus,
      this.log.child({ component: 'nodes' }),
      { ...defaultHealthSettings, ...config.health },
    );
    this.router = new Router({
      nodes: () => this.nodes.snapshots(),
      bus: this.bus,
      log: this.log.child({ component: 'router' }),
    });
    this.nodes.trafficOf = (id) => this.router.traffic(id);
    this.metrics = createMetrics({ bus: this.bus, log: this.log.child({ component: 'metrics' }), dataDir: config.dataDir });
    registerMetricsApi(this.api, this.metrics);
    this.gateway = new Gateway({
      router: this.router,
      fleet: () => this.nodes.list(),
      log: this.log.child({ component: 'gateway' }),
      token: config.token,
      metricsText: () => this.metrics.renderPrometheus(),
      refreshNode: (id) => this.nodes.check(id),
      allowedOrigins: config.allowedOrigins,
      ...config.gatewayTuning,
    });
    this.bus.on('node:state', () => this.gateway.views.invalidate());
    this.bus.on('node:removed', () => this.gateway.views.invalidate());
    this.registerApi();
    this.closedLoop = this.wireClosedLoop();
    this.services = attachServices(this);
  }

  get host(): string {
    return this.config.host ?? '127.0.0.1';
  }

  /** Marks a port of this process on the gateway's host as not addable as a node, e.g. the web UI. */
  reserveOwnPort(port: number, label: string): void {
    this.ownServers.push({ port, label });
  }

  /** Registers a service to stop, in reverse order of attaching, when the plane stops. */
  attach(attachment: Attachment): void {
    this.attachments.push(attachment);
  }

  /**
   * Loads the fleet, opens the gateway, adds a local Ollama and the embedded node when they
   * apply, and waits for the first health check of every node.
   */
  async start(): Promise<GatewayStatus> {
    if (this.started) return this.gateway.status();
    const host = this.host;
    if (!isLoopbackHost(host) && !this.config.token) {
      throw new Error(`a token is required when the gateway listens on the non-loopback address ${host}`);
    }
    this.started = true;
    await this.nodes.load();
    await this.metrics.start();

    const port = this.config.port ?? 11434;
    const fallback = this.config.fallbackPort ?? (port === 11434 ? 11435 : undefined);
    const status = await this.gateway.listen(host, port, fallback);
    if (!status.listening && this.config.requireGateway) {
      await this.metrics.stop();
      this.started = false;
      return status;
    }

    const foundLocal = this.config.discoverLocal === false ? 0 : await this.addLocalOllama(status);
    const wantEmbedded = this.config.embedded ?? (this.config.modelsDir !== undefined || foundLocal === 0);
    if (wantEmbedded) await this.startEmbedded();

    await this.closedLoop.load();
    await this.nodes.start();
    this.closedLoop.start().catch((error) => this.log.error({ err: error }, 'Pre-warming models failed'));
    for (const attachment of this.attachments) {
      if (!attachment.start) continue;
      await attachment.start().catch((error) => this.log.error({ err: error, service: attachment.name }, `Failed to start ${attachment.name}`));
    }
    this.figuresTimer = setInterval(() => this.bus.emit('stats:figures', this.router.figures()), this.config.figuresIntervalMs ?? 2_000);
    this.figuresTimer.unref();
    const fields = { gateway: status.message, nodes: this.nodes.list().length, embedded: this.embedded?.url };
    if (status.listening) this.log.info(fields, 'Control plane started');
    else this.log.warn(fields, 'Control plane started without the gateway');
    return status;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    clearInterval(this.figuresTimer);
    for (const attachment of [...this.attachments].reverse()) {
      try {
        await attachment.stop();
      } catch (error) {
        this.log.error({ err: error, service: attachment.name }, `Failed to stop ${attachment.name}`);
      }
    }
    this.attachments.length = 0;
    this.nodes.stop();
    await this.closedLoop.stop();
    await this.metrics.stop();
    await this.gateway.close();
    if (this.embedded) {
      await this.embedded.close().catch((error) => this.log.error({ err: error }, 'Failed to stop the embedded node'));
      this.embedded = null;
    }
    this.log.info('Control plane stopped');
  }

  info(): SystemInfo {
    return {
      version: appVersion,
      dataDir: this.config.dataDir,
      gateway: this.gateway.status(),
      runtime: process.versions.electron ? 'electron' : 'node',
      nodeVersion: process.versions.node,
    };
  }

  /** Lists each distinct model name (compared as Ollama does) with the nodes that store or run it. */
  models(): ModelSummary[] {
    const byName = new Map<string, ModelSummary>();
    for (const node of this.nodes.snapshots()) {
      for (const model of node.models) {
        const key = canonicalModelName(model.name) ?? model.name;
        const summary = byName.get(key) ?? { name: model.name, nodes: [], loadedOn: [] };
        if (!summary.nodes.includes(node.name)) summary.nodes.push(node.name);
        byName.set(key, summary);
      }
      for (const model of node.loaded) {
        const summary = byName.get(canonicalModelName(model.name) ?? model.name);
        if (summary && !summary.loadedOn.includes(node.name)) summary.loadedOn.push(node.name);
      }
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  private async addLocalOllama(status: GatewayStatus): Promise<number> {
    const selfPort = status.port;
    const findings = await discoverLocal({
      env: this.config.env ?? process.env,
      isSelf: (host, port) => port === selfPort && (isLoopbackHost(host) || host === this.host),
    });
    for (const warning of findings.warnings) this.log.warn(warning);
    let count = 0;
    for (const proposal of findings.local) {
      const url = proposal.address;
      if (this.nodes.findByUrl(url)) {
        count += 1;
        continue;
      }
      try {
        await this.nodes.add({ url, name: `local ${new URL(url).host}` }, { kind: 'ollama', persist: false });
        count += 1;
        this.log.info({ url }, `Added the local Ollama at ${url}`);
      } catch (error) {
        this.log.warn({ url, err: (error as Error).message }, `Could not add the local Ollama at ${url}`);
      }
    }
    return count;
  }

  private async startEmbedded(): Promise<void> {
    const modelsDir = this.config.modelsDir ?? join(this.config.dataDir, 'models');
    try {
      const node = await startEmbeddedNode({
        host: '127.0.0.1',
        port: 0,
        modelsDir,
        ollamaStoreDirs: false,
        log: this.log.child({ component: 'embedded' }),
      });
      this.embedded = node;
      await this.nodes.add({ url: node.url, name: 'embedded' }, { kind: 'embedded', persist: false });
      this.log.info({ url: node.url, modelsDir }, 'Embedded node started');
    } catch (error) {
      this.log.error({ err: error, modelsDir }, 'Embedded node failed to start; continuing without it');
    }
  }

  /**
   * Rejects a node URL that points at this gateway, because routing to itself would loop and
   * fanning `/api/tags` out to itself would wait on its own response.
   */
  private rejectSelf(raw: string): void {
    const checked = normalizeNodeUrl(raw);
    if (!checked.ok) return;
    const target = new URL(checked.url);
    const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
    const status = this.gateway.status();
    const sameHost = isLoopbackHost(target.hostname) || target.hostname === this.host;
    if (status.listening && sameHost && port === status.port) {
      throw new ApiFailure(ErrorCodes.invalidArgument, `node URL '${raw}' is this gateway itself; add the address of an Ollama or llama.cpp node`);
    }
    const own = this.ownServers.find((server) => server.port === port);
    if (sameHost && own) {
      throw new ApiFailure(ErrorCodes.invalidArgument, `node URL '${raw}' is ${own.label} of this app, not a node; add the address of an Ollama or llama.cpp node`);
    }
  }

  /**
   * Rejects prewarm entries naming node ids that are not in the fleet. Entries already saved are
   * let through unchanged, because ids of unsaved nodes (embedded, local Ollama) change on
   * restart and the UI sends the whole list back. Unknown model names are accepted: a node can
   * pull the model later, and the placement controller reports a failed load.
   */
  private rejectUnknownPrewarmNodes(
    prewarm: Array<{ model: string; nodeIds: string[] }> | undefined,
    saved: Array<{ model: string; nodeIds: string[] }>,
  ): void {
    if (!prewarm) return;
    const unknown: string[] = [];
    for (const entry of prewarm) {
      const before = saved.find((old) => old.model === entry.model);
      for (const id of entry.nodeIds) {
        if (this.nodes.get(id) || before?.nodeIds.includes(id)) continue;
        unknown.push(`'${id}' (model '${entry.model}')`);
      }
    }
    if (unknown.length > 0) {
      throw new ApiFailure(ErrorCodes.invalidArgument, `unknown node id in prewarm: ${unknown.join(', ')}; list node ids with nodes:list`);
    }
  }

  private registerApi(): void {
    this.api.handle('nodes:list', () => this.nodes.list());
    this.api.handle('nodes:add', (args) => {
      this.rejectSelf(args.url);
      return this.nodes.add(args);
    });
    this.api.handle('nodes:remove', async (args) => ({ removed: await this.nodes.remove(args.id) }));
    this.api.handle('nodes:update', (args) => this.nodes.update(args));
    this.api.handle('nodes:check', (args) => this.nodes.check(args.id));
    this.api.handle('system:info', () => this.info());
    this.api.handle('models:list', () => this.models());
    this.api.handle('router:decisions', (args) => this.router.decisions(args?.limit ?? 100));
    this.api.handle('stats:figures', () => this.router.figures());
  }

  /**
   * Builds the closed routing loop (scoring strategy, breakers, learning, placement controller,
   * hedging), hooks it into the router, gateway and health loop, and registers its API.
   */
  private wireClosedLoop(): ClosedLoop {
    const loop = new ClosedLoop(
      {
        dataDir: this.config.dataDir,
        log: this.log.child({ component: 'closed-loop' }),
        bus: this.bus,
        router: this.router,
        nodes: this.nodes,
        // A client that unloads a model and then polls /api/ps must not get the cached list.
        onLoadedMayChange: () => this.gateway.views.invalidatePs(),
      },
      this.config.closedLoop,
    );
    this.gateway.hedging = loop.hedgePolicy();
    this.api.handle('routing:settings', () => loop.settings.value);
    this.api.handle('routing:set', (args) => {
      this.rejectUnknownPrewarmNodes(args.prewarm, loop.settings.value.prewarm);
      return loop.updateSettings(args);
    });
    this.api.handle('routing:stats', () => loop.stats());
    return loop;
  }
}
