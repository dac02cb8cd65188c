import { randomUUID } from 'node:crypto';
import { createServer, Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { GatewayStatus, NodeView } from '../../../shared/types';
import type { Logger } from '../core/logger';
import { sameModel } from '../ollama-store/model-name';
import type { RouteLease, RouteRequest, RouterPort } from '../router/port';
import { bearerToken, secretsEqual } from '../ui-server/security';
import { asksToUnload, parseHedgeHeader, parsePriority, parseRoutedBody, readBody } from './body';
import { FleetViews } from './fleet-views';
import { openUpstream, relayResponse, type Forwarded, type Retryable, type StallWatch, type UpstreamInput } from './forward';
import { openWithHedge, type HedgedOpen, type HedgePolicy, type OpenFn } from './hedged-open';
import { analyzeRequest } from '../analysis/request-context';
import { appendVia, forwardableHeaders, loopMessage, readVia, viaHeader } from './headers';
import { listenWithFallback } from './listen';
import { toOpenAiModels } from './merge';
import { sendError, sendJson, sendOpenAiError, sendText } from './responses';
import { isModelManagementPath, routedPaths, type RoutedPath } from './routes';
import { ModelManager } from './manage';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/prometheus';
import { OriginPolicy, originsFromEnv } from './cors';

export type GatewayOptions = {
  router: RouterPort;
  fleet: () => NodeView[];
  log: Logger;
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes?: number;
  /** A node must send response headers within this many ms, or another node is tried. */
  firstByteTimeoutMs?: number;
  /** Most nodes tried for one request, counting the first. */
  maxAttempts?: number;
  /** How long merged `/api/tags` and `/api/ps` responses are reused, in ms. */
  listCacheMs?: number;
  /** Per-node timeout of the `/api/tags` and `/api/ps` fan-out, in ms. */
  fanOutTimeoutMs?: number;
  /** Renders the Prometheus text served at `GET /metrics`; the route is 404 without it. */
  metricsText?: () => string;
  /**
   * Browser origins allowed besides the defaults (pages on this machine, desktop shells); `*`
   * allows any. Default: the `OLLAMA_ORIGINS` environment variable, as Ollama reads it.
   */
  allowedOrigins?: string[];
  /**
   * A response that started is ended with an error once its node sends nothing for this many ms,
   * or for `downNodeStallMs` while health checks report the node down.
   */
  streamStallMs?: number;
  downNodeStallMs?: number;
  /** How often a relayed response is checked for a stall, in ms. */
  stallCheckEveryMs?: number;
  /** Re-reads one node's model list after a pull, delete, copy or create through the gateway. */
  refreshNode?: (id: string) => Promise<unknown>;
};

export { viaHeader } from './headers';

/** Header that asks for (`1`) or forbids (`0`) a hedge on one request. */
export const hedgeHeaderName = 'x-synaptic-hedge';

const defaults = {
  maxBodyBytes: 256 * 1024 * 1024,
  firstByteTimeoutMs: 300_000,
  maxAttempts: 3,
  listCacheMs: 1_000,
  fanOutTimeoutMs: 3_000,
  // NOTE: estimates. A healthy node streams a token every few seconds at worst, even on a CPU;
  // two minutes of silence, or 15 s while its health checks fail, means it hung.
  streamStallMs: 120_000,
  downNodeStallMs: 15_000,
  stallCheckEveryMs: 5_000,
};

/**
 * The Ollama-compatible HTTP front door. Model requests go to the node the router picks, with the
 * original body bytes; fleet-wide lists are merged from every node.
 */
export class Gateway {
  readonly views: FleetViews;
  /** Random id of this gateway instance, sent in `x-synaptic-via`. */
  readonly instanceId = randomUUID().slice(0, 8);
  /** Hedging policy of the closed loop; without one no request is hedged. */
  hedging?: HedgePolicy;
  private readonly server: Server;
  private readonly agents = {
    http: new Agent({ keepAlive: true, maxSockets: 256 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
  };
  private readonly settings: typeof defaults;
  private readonly models: ModelManager;
  private readonly origins: OriginPolicy;
  private current: GatewayStatus = { host: '', port: null, listening: false, fallbackUsed: false, message: 'not started' };

  constructor(private readonly options: GatewayOptions) {
    this.settings = {
      maxBodyBytes: options.maxBodyBytes ?? defaults.maxBodyBytes,
      firstByteTimeoutMs: options.firstByteTimeoutMs ?? defaults.firstByteTimeoutMs,
      maxAttempts: options.maxAttempts ?? defaults.maxAttempts,
      listCacheMs: options.listCacheMs ?? defaults.listCacheMs,
      fanOutTimeoutMs: options.fanOutTimeoutMs ?? defaults.fanOutTimeoutMs,
      streamStallMs: options.streamStallMs ?? defaults.streamStallMs,
      downNodeStallMs: options.downNodeStallMs ?? defaults.downNodeStallMs,
      stallCheckEveryMs: options.stallCheckEveryMs ?? defaults.stallCheckEveryMs,
    };
    this.views = new FleetViews({
      fleet: options.fleet,
      log: options.log,
      cacheMs: this.settings.listCacheMs,
      timeoutMs: this.settings.fanOutTimeoutMs,
    });
    this.origins = new OriginPolicy(options.allowedOrigins ?? originsFromEnv(process.env.OLLAMA_ORIGINS));
    this.models = new ModelManager({
      fleet: options.fleet,
      log: options.log.child({ module: 'model-manager' }),
      views: this.views,
      refreshNode: options.refreshNode,
      maxBodyBytes: this.settings.maxBodyBytes,
      instanceId: this.instanceId,
      dropAuthorization: options.token !== undefined,
    });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        options.log.error({ err: error, path: req.url }, 'Gateway handler failed');
        if (!res.headersSent) sendError(res, 500, `internal gateway error: ${(error as Error).message}`);
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 65_000;
    this.server.requestTimeout = 0;
  }

  async listen(host: string, port: number, fallbackPort?: number): Promise<GatewayStatus> {
    this.current = await listenWithFallback(this.server, host, port, fallbackPort, this.options.log);
    return this.current;
  }

  status(): GatewayStatus {
    return { ...this.current };
  }

  /** Base URL clients use, e.g. `http://127.0.0.1:11434`; null while not listening. */
  url(): string | null {
    if (!this.current.listening || this.current.port === null) return null;
    const host = this.current.host.includes(':') ? `[${this.current.host}]` : this.current.host;
    return `http://${host}:${this.current.port}`;
  }

  async close(): Promise<void> {
    if (this.current.listening) {
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    }
    this.agents.http.destroy();
    this.agents.https.destroy();
    this.current = { ...this.current, listening: false, message: 'stopped' };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, search } = splitTarget(req.url ?? '/');
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    // Before the token check: a browser's preflight carries no Authorization header.
    if (this.origins.handle(req, res)) return;

    if (this.options.token !== undefined) {
      const presented = bearerToken(req);
      if (!presented || !secretsEqual(presented, this.options.token)) {
        req.resume();
        sendError(res, 401, 'unauthorized: send the gateway token as Authorization: Bearer <token>');
        return;
      }
    }

    const routed = routedPaths[path];
    if (routed) {
      if (method !== 'POST') return methodNotAllowed(req, res);
      return this.proxy(req, res, path + search, routed);
    }
    if (isModelManagementPath(path)) return this.models.handle(req, res, path, search, method);

    req.resume();
    const readOnly = method === 'GET' || head;
    switch (path) {
      case '/':
        if (!readOnly) return methodNotAllowed(req, res);
        return sendText(res, 200, 'Ollama is running', head);
      case '/api/version':
        if (!readOnly) return methodNotAllowed(req, res);
        return sendJson(res, 200, { version: this.views.version() }, head);
      case '/api/tags':
        if (!readOnly) return methodNotAllowed(req, res);
        return sendJson(res, 200, { models: await this.views.tags() }, head);
      case '/api/ps':
        if (!readOnly) return methodNotAllowed(req, res);
        return sendJson(res, 200, { models: await this.views.ps() }, head);
      case '/metrics':
        if (!this.options.metricsText) return sendText(res, 404, '404 page not found', head);
        if (!readOnly) return methodNotAllowed(req, res);
        res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
        res.end(head ? undefined : this.options.metricsText());
        return;
      case '/v1/models':
        if (!readOnly) return methodNotAllowed(req, res);
        return sendJson(res, 200, toOpenAiModels(await this.views.tags()), head);
      default:
        if (path.startsWith('/v1/models/') && readOnly) return this.openAiModel(res, decodeURIComponent(path.slice('/v1/models/'.length)), head);
        return sendText(res, 404, '404 page not found', head);
    }
  }

  private async openAiModel(res: ServerResponse, name: string, head: boolean): Promise<void> {
    const model = (await this.views.tags()).find((entry) => sameModel(entry.name, name));
    if (!model) return sendOpenAiError(res, 404, `model '${name}' not found`);
    const [entry] = toOpenAiModels([model]).data;
    sendJson(res, 200, entry, head);
  }

  private async proxy(req: IncomingMessage, res: ServerResponse, path: string, routed: RoutedPath): Promise<void> {
    const fail = (status: number, message: string) =>
      routed.openAi ? sendOpenAiError(res, status, message) : sendError(res, status, message);

    const { via, loop } = readVia(req.headers, this.instanceId);
    if (loop) {
      req.resume();
      return fail(508, loopMessage(this.instanceId));
    }
    const priority = parsePriority(req.headers['x-synaptic-priority']);
    if (!priority.ok) {
      req.resume();
      return fail(400, priority.message);
    }
    const read = await readBody(req, this.settings.maxBodyBytes);
    if (!read.ok) return fail(read.status, read.message);
    const parsed = parseRoutedBody(read.bytes, routed.acceptName);
    if (!parsed.ok) return fail(400, parsed.message);

    const hedgeHeader = parseHedgeHeader(req.headers[hedgeHeaderName]);
    if (!hedgeHeader.ok) return fail(400, hedgeHeader.message);
    const analysis = analyzeRequest({ path: path.split('?')[0], body: parsed.body.raw, headers: req.headers, priority: priority.value });
    const context = analysis.ok ? analysis.context : undefined;
    const unloads = asksToUnload(parsed.body.raw.keep_alive);

    // The gateway already checked the browser origin, so the node gets no Origin header.
    const headers = forwardableHeaders(req.headers, [
      'host',
      'origin',
      'content-length',
      'x-synaptic-priority',
      hedgeHeaderName,
      ...(this.options.token !== undefined ? ['authorization'] : []),
    ]);
    headers[viaHeader] = appendVia(via, this.instanceId);
    const upstream = (nodeUrl: string, mayRetry: boolean): UpstreamInput => ({
      nodeUrl,
      path,
      method: 'POST',
      headers,
      body: read.bytes,
      agents: this.agents,
      firstByteTimeoutMs: this.settings.firstByteTimeoutMs,
      mayRetry,
    });
    const hedging = this.hedging;
    const generates = routed.endpoint === 'chat' || routed.endpoint === 'generate';
    const hedge = hedging !== undefined && generates && (hedgeHeader.value ?? hedging.enabledByDefault());

    const client = new AbortController();
    const onClientClose = () => {
      if (!res.writableFinished) client.abort();
    };
    res.on('close', onClientClose);
    // The client may have left while its body was read, before the listener above existed.
    if (res.destroyed) client.abort();
    try {
      const tried: string[] = [];
      let lastFailure: Retryable | undefined;

      for (let attempt = 1; attempt <= this.settings.maxAttempts; attempt++) {
        const request: RouteRequest = {
          endpoint: routed.endpoint,
          model: parsed.body.model,
          priority: priority.value,
          options: parsed.body.options,
          exclude: [...tried],
          attempt,
          unloadsAfter: unloads,
          ...(context ? { taskType: context.taskType, prefersGpu: context.prefersGpu, expectedOutputTokens: context.maxOutputTokens } : {}),
        };
        const outcome = this.options.router.route(request);
        if (outcome.kind !== 'routed') {
          if (lastFailure) return relayFailure(res, lastFailure, fail);
          return fail(outcome.kind === 'not_found' ? 404 : 503, outcome.message);
        }

        const mayRetry = attempt < this.settings.maxAttempts;
        const open: OpenFn = (lease, signal) => openUpstream(upstream(lease.node.url, mayRetry), signal);
        let opened: HedgedOpen;
        if (hedge && hedging) {
          opened = await openWithHedge({ router: this.options.router, policy: hedging, request, primary: outcome.lease, open, signal: client.signal, willRetry: mayRetry });
        } else {
          opened = await this.openPlain(outcome.lease, open, client.signal, mayRetry);
        }

        if (opened.kind === 'opened') {
          await this.relay(opened, res);
          return;
        }
        tried.push(...opened.tried);
        if (opened.failure.kind === 'cancelled' || res.destroyed) return;

        lastFailure = opened.failure;
        this.options.log.warn(
          { nodeIds: opened.tried, attempt, err: lastFailure.error },
          `Retrying ${routed.endpoint} model=${parsed.body.model} on another node: ${lastFailure.error}`,
        );
      }
      if (lastFailure) relayFailure(res, lastFailure, fail);
    } finally {
      res.off('close', onClientClose);
    }
  }

  /** Opens the request on one node and finishes the lease when it fails. */
  private async openPlain(lease: RouteLease, open: OpenFn, signal: AbortSignal, willRetry: boolean): Promise<HedgedOpen> {
    let outcome: Awaited<ReturnType<OpenFn>> | undefined;
    try {
      outcome = await open(lease, signal);
    } finally {
      if (!outcome) lease.finish({ ok: false, latencyMs: 0, error: 'gateway failed while forwarding' });
    }
    if (outcome.kind === 'opened') return { kind: 'opened', lease, opened: outcome };
    if (outcome.kind === 'cancelled') {
      lease.finish({ ok: false, cancelled: true, latencyMs: outcome.elapsedMs, error: 'client disconnected' });
    } else {
      lease.finish({ ok: false, latencyMs: outcome.elapsedMs, status: outcome.status, error: outcome.error, retried: willRetry });
    }
    return { kind: 'failed', failure: outcome, tried: [lease.node.id] };
  }

  /** Builds the stall check of a response from one node, from the settings and its health. */
  private stallWatch(nodeId: string): StallWatch {
    const { streamStallMs, downNodeStallMs, stallCheckEveryMs } = this.settings;
    return {
      everyMs: stallCheckEveryMs,
      check: (silentMs) => {
        const seconds = Math.round(silentMs / 1000);
        if (silentMs >= streamStallMs) return `node sent nothing for ${seconds} s; the response was ended`;
        if (silentMs < downNodeStallMs) return undefined;
        const node = this.options.fleet().find((candidate) => candidate.id === nodeId);
        if (node?.health !== 'down') return undefined;
        return `node ${node.name} stopped answering health checks and sent nothing for ${seconds} s; the response was ended`;
      },
    };
  }

  /** Relays the winning response and finishes its lease with the result. */
  private async relay(opened: Extract<HedgedOpen, { kind: 'opened' }>, res: ServerResponse): Promise<void> {
    let forwarded: Forwarded | undefined;
    try {
      forwarded = await relayResponse(opened.opened, res, this.stallWatch(opened.lease.node.id));
      const { result } = forwarded;
      if (!result.ok && !result.cancelled && result.status !== undefined && result.status < 400) {
        const node = opened.lease.node;
        this.options.log.warn({ nodeId: node.id, decisionId: opened.lease.decision.id, err: result.error }, `Response from node ${node.name} failed after output started: ${result.error}`);
      }
    } finally {
      opened.lease.finish(forwarded ? forwarded.result : { ok: false, latencyMs: 0, error: 'gateway failed while forwarding' });
    }
  }
}

/** Sends the last node's failure: its own status and body when it sent one, else 502. */
function relayFailure(
  res: ServerResponse,
  failure: Retryable,
  fail: (status: number, message: string) => void,
): void {
  if (failure.status !== undefined && failure.body !== undefined && failure.headers) {
    res.writeHead(failure.status, { ...failure.headers, 'content-length': failure.body.length });
    res.end(failure.body);
    return;
  }
  fail(502, failure.error);
}

/**
 * Splits a request target into its path, without trailing slashes, and its query. Plain API paths
 * are split by hand because every request passes here. Anything else (dot segments, escapes, an
 * absolute URL) goes through the URL parser, so it is normalised as before.
 */
export function splitTarget(target: string): { path: string; search: string } {
  const queryAt = target.indexOf('?');
  const rawPath = queryAt < 0 ? target : target.slice(0, queryAt);
  if (/^\/[A-Za-z0-9_/-]*$/.test(rawPath) && !rawPath.startsWith('//')) {
    return { path: rawPath.replace(/\/+$/, '') || '/', search: queryAt < 0 ? '' : target.slice(queryAt) };
  }
  const url = new URL(target, 'http://gateway');
  return { path: url.pathname.replace(/\/+$/, '') || '/', search: url.search };
}

function methodNotAllowed(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  sendText(res, 405, '405 method not allowed', req.method === 'HEAD');
}
