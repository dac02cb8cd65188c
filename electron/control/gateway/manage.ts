import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { NodeView } from '../../../shared/types';
import type { Logger } from '../core/logger';
import { sameModel } from '../ollama-store/model-name';
import { readBody } from './body';
import type { FleetViews } from './fleet-views';
import { appendVia, forwardableHeaders, loopMessage, readVia, viaHeader } from './headers';
import { parseCopyBody, parseDeleteBody, parsePullBody, parseSingleNodeBody, type PullBody } from './manage-body';
import { fanOutTargets, nodeHeaderName, singleTarget, type ManageOperation } from './manage-targets';
import { LineSplitter } from './ndjson';
import { describeNodeFailures, describeRequestError, failureStatus, type NodeFailure } from './node-failures';
import { pullLineSchema, PullProgress, type PullLine } from './pull-progress';
import { sendError, sendJson, sendText } from './responses';
import { blobPathPrefix } from './routes';
import { forwardToNode } from './single-node';

export type ModelManagerOptions = {
  fleet: () => NodeView[];
  log: Logger;
  views: FleetViews;
  /** Re-reads one node's model list, so the router and `/api/tags` see a change at once. */
  refreshNode?: (id: string) => Promise<unknown>;
  /** Largest accepted JSON body, in bytes; blob uploads are streamed and have no limit here. */
  maxBodyBytes: number;
  /** Time limit of a delete or copy on one node, in ms. */
  requestTimeoutMs?: number;
  /** This gateway's id, sent in `x-synaptic-via`. */
  instanceId: string;
  /** True when clients authenticate to the gateway, so their `Authorization` is not for the nodes. */
  dropAuthorization: boolean;
};

type NodeAnswer = { node: NodeView; kind: 'done' | 'missing' } | { node: NodeView; kind: 'failed'; failure: NodeFailure };

const blobDigest = /^sha256[:-][0-9a-f]{64}$/;

/**
 * Serves Ollama's model-management endpoints for the whole fleet. Pull, delete and copy fan out
 * to every Ollama node (or those named in `X-Synaptic-Node`) and merge the responses. Push,
 * create and blob uploads go to exactly one node.
 */
export class ModelManager {
  private readonly requestTimeoutMs: number;

  constructor(private readonly options: ModelManagerOptions) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string, search: string, method: string): Promise<void> {
    if (readVia(req.headers, this.options.instanceId).loop) {
      req.resume();
      return sendError(res, 508, loopMessage(this.options.instanceId));
    }

    if (path.startsWith(blobPathPrefix)) return this.blob(req, res, path, search, method);
    const expected = path === '/api/delete' ? 'DELETE' : 'POST';
    if (method !== expected) {
      req.resume();
      return sendText(res, 405, '405 method not allowed', method === 'HEAD');
    }

    const read = await readBody(req, this.options.maxBodyBytes);
    if (!read.ok) return sendError(res, read.status, read.message);
    switch (path) {
      case '/api/pull':
        return this.pull(req, res, read.bytes);
      case '/api/delete':
        return this.remove(req, res, read.bytes);
      case '/api/copy':
        return this.copy(req, res, read.bytes);
      case '/api/push':
      case '/api/create':
        return this.forwardSingle(req, res, path.slice('/api/'.length) as ManageOperation, path + search, read.bytes);
      default:
        return sendText(res, 404, '404 page not found');
    }
  }

  /**
   * Pulls a model onto every target node that lacks it and streams the merged progress. The
   * final line is `success` only when every node succeeded. Otherwise one `error` line names the
   * nodes that failed.
   */
  private async pull(req: IncomingMessage, res: ServerResponse, bytes: Buffer): Promise<void> {
    const body = parsePullBody(bytes);
    if (!body.ok) return sendError(res, 400, body.message);
    const targets = fanOutTargets(this.options.fleet(), req.headers[nodeHeaderName], 'pull');
    if (!targets.ok) return sendError(res, targets.status, targets.message);

    // NOTE: "already has it" comes from the node's last health check, a few seconds old at most, so
    // a model deleted behind the gateway's back since then counts as present and is not pulled.
    const pulling = targets.value.filter((node) => !node.models.some((m) => sameModel(m.name, body.value.model)));
    const names = new Map(pulling.map((node) => [node.id, node.name]));
    const progress = new PullProgress(pulling.map((node) => node.id));
    const stream = body.value.stream;
    if (stream) res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    const write = (line: PullLine) => {
      if (stream && !res.destroyed) res.write(`${JSON.stringify(line)}\n`);
    };

    const client = new AbortController();
    const onClientClose = () => {
      if (!res.writableFinished) client.abort();
    };
    res.on('close', onClientClose);
    const started = Date.now();
    this.options.log.info(
      { model: body.value.model, nodeIds: pulling.map((n) => n.id), alreadyPresent: targets.value.length - pulling.length },
      `Pulling ${body.value.model} on ${pulling.length} node(s)`,
    );
    try {
      const headers = this.upstreamHeaders(req);
      await Promise.all(
        pulling.map((node) =>
          this.pullOnNode(node, body.value, headers, client.signal, progress, (line) => {
            for (const merged of progress.accept(node.id, line)) write(merged);
          }),
        ),
      );
    } finally {
      res.off('close', onClientClose);
    }

    await this.refresh(progress.succeeded());
    const failures = progress.failures().map((failure) => ({ ...failure, node: names.get(failure.node) ?? failure.node }));
    if (client.signal.aborted || res.destroyed) {
      this.options.log.info({ model: body.value.model, elapsedMs: Date.now() - started }, `Pull of ${body.value.model} cancelled by the client`);
      return;
    }
    if (failures.length > 0) {
      const succeeded = progress.succeeded().map((id) => names.get(id) ?? id);
      const message = describeNodeFailures(`pull of '${body.value.model}'`, failures, succeeded);
      this.options.log.warn({ model: body.value.model, failures }, message);
      if (stream) res.end(`${JSON.stringify({ error: message })}\n`);
      else sendError(res, failureStatus(failures, 500), message);
      return;
    }
    this.options.log.info({ model: body.value.model, elapsedMs: Date.now() - started }, `Pulled ${body.value.model}`);
    if (stream) res.end(`${JSON.stringify({ status: 'success' })}\n`);
    else sendJson(res, 200, { status: 'success' });
  }

  /** Runs a streamed pull on one node and feeds its lines to `onLine`; never throws. */
  private async pullOnNode(
    node: NodeView,
    body: PullBody,
    headers: OutgoingHttpHeaders,
    signal: AbortSignal,
    progress: PullProgress,
    onLine: (line: PullLine) => void,
  ): Promise<void> {
    const upstreamBody = JSON.stringify({ model: body.model, ...(body.insecure !== undefined ? { insecure: body.insecure } : {}), stream: true });
    try {
      const response = await fetch(`${node.url}/api/pull`, {
        method: 'POST',
        headers: toFetchHeaders(headers),
        body: upstreamBody,
        signal,
      });
      if (!response.ok || !response.body) {
        progress.fail(node.id, await errorOf(response), response.status);
        return;
      }
      const splitter = new LineSplitter();
      const readLine = (bytes: Buffer): boolean => {
        const line = parsePullLine(bytes);
        if (!line.ok) {
          progress.fail(node.id, line.message);
          return false;
        }
        onLine(line.value);
        return true;
      };
      for await (const chunk of response.body) {
        for (const line of splitter.push(Buffer.from(chunk))) {
          if (!readLine(line)) return;
        }
      }
      const rest = splitter.rest();
      if (rest && rest.toString('utf8').trim() !== '') readLine(rest);
      progress.fail(node.id, 'the pull stream ended without success or error');
    } catch (error) {
      const reason = signal.aborted ? 'cancelled by the client' : describeRequestError(error);
      progress.fail(node.id, reason);
      if (!signal.aborted) this.options.log.warn({ nodeId: node.id, err: reason }, `Pull on node ${node.name} failed`);
    }
  }

  /** Deletes a model on every target node that has it; 404 when none has it. */
  private async remove(req: IncomingMessage, res: ServerResponse, bytes: Buffer): Promise<void> {
    const body = parseDeleteBody(bytes);
    if (!body.ok) return sendError(res, 400, body.message);
    const targets = fanOutTargets(this.options.fleet(), req.headers[nodeHeaderName], 'delete');
    if (!targets.ok) return sendError(res, targets.status, targets.message);

    const answers = await this.onEveryNode(req, res, targets.value, 'DELETE', '/api/delete', { model: body.value.model });
    if (!answers) return;
    this.finishFanOut(res, answers, `delete of '${body.value.model}'`, `model '${body.value.model}' not found`);
  }

  /** Copies a model on every target node that has the source; 404 when none has it. */
  private async copy(req: IncomingMessage, res: ServerResponse, bytes: Buffer): Promise<void> {
    const body = parseCopyBody(bytes);
    if (!body.ok) return sendError(res, 400, body.message);
    const targets = fanOutTargets(this.options.fleet(), req.headers[nodeHeaderName], 'copy');
    if (!targets.ok) return sendError(res, targets.status, targets.message);

    const answers = await this.onEveryNode(req, res, targets.value, 'POST', '/api/copy', body.value);
    if (!answers) return;
    const action = `copy of '${body.value.source}' to '${body.value.destination}'`;
    this.finishFanOut(res, answers, action, `model ${JSON.stringify(body.value.source)} not found`);
  }

  /**
   * Sends one JSON request to each node and sorts the responses: 2xx done, 404 missing, anything
   * else failed. Returns null when the client went away first.
   */
  private async onEveryNode(
    req: IncomingMessage,
    res: ServerResponse,
    nodes: NodeView[],
    method: string,
    path: string,
    body: unknown,
  ): Promise<NodeAnswer[] | null> {
    const client = new AbortController();
    const onClientClose = () => {
      if (!res.writableFinished) client.abort();
    };
    res.on('close', onClientClose);
    const headers = toFetchHeaders(this.upstreamHeaders(req));
    try {
      const answers = await Promise.all(
        nodes.map(async (node): Promise<NodeAnswer> => {
          try {
            const response = await fetch(`${node.url}${path}`, {
              method,
              headers,
              body: JSON.stringify(body),
              signal: AbortSignal.any([client.signal, AbortSignal.timeout(this.requestTimeoutMs)]),
            });
            if (response.ok) {
              await response.arrayBuffer();
              return { node, kind: 'done' };
            }
            const error = await errorOf(response);
            if (response.status === 404) return { node, kind: 'missing' };
            return { node, kind: 'failed', failure: { node: node.name, error, status: response.status } };
          } catch (error) {
            return { node, kind: 'failed', failure: { node: node.name, error: describeRequestError(error, this.requestTimeoutMs) } };
          }
        }),
      );
      await this.refresh(answers.filter((a) => a.kind === 'done').map((a) => a.node.id));
      return client.signal.aborted ? null : answers;
    } finally {
      res.off('close', onClientClose);
    }
  }

  /**
   * Sends the response to a delete or copy. It is 200 with no body, as from Ollama, when the
   * change was made on at least one node and failed on none, and 404 when no node had the model.
   * Otherwise it is an error that names the nodes that failed.
   */
  private finishFanOut(res: ServerResponse, answers: NodeAnswer[], action: string, notFound: string): void {
    const done = answers.filter((a) => a.kind === 'done').map((a) => a.node.name);
    const failures = answers.flatMap((a) => (a.kind === 'failed' ? [a.failure] : []));
    if (failures.length > 0) {
      const message = describeNodeFailures(action, failures, done);
      this.options.log.warn({ failures, done }, message);
      return sendError(res, failureStatus(failures, 502), message);
    }
    if (done.length === 0) return sendError(res, 404, notFound);
    this.options.log.info({ nodes: done }, `Finished ${action} on ${done.join(', ')}`);
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
  }

  /** Forwards `/api/push` or `/api/create` to the one node that the header or the fleet names. */
  private async forwardSingle(req: IncomingMessage, res: ServerResponse, operation: ManageOperation, path: string, bytes: Buffer): Promise<void> {
    const body = parseSingleNodeBody(bytes);
    if (!body.ok) return sendError(res, 400, body.message);
    const target = singleTarget(this.options.fleet(), req.headers[nodeHeaderName], operation);
    if (!target.ok) return sendError(res, target.status, target.message);

    const headers = { ...this.upstreamHeaders(req), 'content-type': 'application/json' };
    const outcome = await forwardToNode({ node: target.value, method: 'POST', path, headers, body: bytes }, req, res);
    if (operation === 'create' && outcome.kind === 'answered' && outcome.status === 200) await this.refresh([target.value.id]);
    this.options.log.info({ nodeId: target.value.id, model: body.value.model, outcome }, `Forwarded ${operation} of ${body.value.model} to ${target.value.name}`);
  }

  /** Passes `HEAD` or `POST /api/blobs/<digest>` to the single node that create will use. */
  private async blob(req: IncomingMessage, res: ServerResponse, path: string, search: string, method: string): Promise<void> {
    if (method !== 'HEAD' && method !== 'POST') {
      req.resume();
      return sendText(res, 405, '405 method not allowed');
    }
    const digest = decodeURIComponent(path.slice(blobPathPrefix.length));
    if (!blobDigest.test(digest)) {
      req.resume();
      return sendError(res, 400, `invalid digest '${digest}': expected sha256:<64 lower-case hex digits>`);
    }
    const target = singleTarget(this.options.fleet(), req.headers[nodeHeaderName], 'create');
    if (!target.ok) {
      req.resume();
      return sendError(res, target.status, target.message);
    }
    const headers = this.upstreamHeaders(req, true);
    const outcome = await forwardToNode({ node: target.value, method, path: path + search, headers }, req, res);
    if (outcome.kind === 'failed') this.options.log.warn({ nodeId: target.value.id, digest, err: outcome.error }, `Blob ${method} failed`);
  }

  /** Builds the headers for a request to a node: the client's, minus ours, plus this gateway in the via list. */
  private upstreamHeaders(req: IncomingMessage, keepLength = false): OutgoingHttpHeaders {
    const drop = ['host', 'origin', nodeHeaderName, ...(keepLength ? [] : ['content-length']), ...(this.options.dropAuthorization ? ['authorization'] : [])];
    const headers = forwardableHeaders(req.headers, drop);
    headers[viaHeader] = appendVia(readVia(req.headers, this.options.instanceId).via, this.options.instanceId);
    return headers;
  }

  /** Re-reads the model lists of `nodeIds` and drops the merged `/api/tags`; errors are logged. */
  private async refresh(nodeIds: string[]): Promise<void> {
    if (nodeIds.length > 0 && this.options.refreshNode) {
      await Promise.all(
        nodeIds.map((id) =>
          this.options.refreshNode!(id).catch((error: unknown) =>
            this.options.log.warn({ nodeId: id, err: error }, 'Refreshing the model list after a change failed'),
          ),
        ),
      );
    }
    this.options.views.invalidate();
  }
}

function parsePullLine(bytes: Buffer): { ok: true; value: PullLine } | { ok: false; message: string } {
  const text = bytes.toString('utf8').trim();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: `invalid JSON line in the pull stream: ${text.slice(0, 200)}` };
  }
  const parsed = pullLineSchema.safeParse(value);
  if (!parsed.success) return { ok: false, message: `unexpected pull line ${text.slice(0, 200)}: ${parsed.error.issues[0]?.message}` };
  return { ok: true, value: parsed.data };
}

/** Reads an error response: the `error` of Ollama's JSON body, else the status and text. */
async function errorOf(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // Not JSON: the raw text below shows what the node sent.
  }
  return `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
}

function toFetchHeaders(headers: OutgoingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === 'content-type') continue;
    out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}
