import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import type { Logger } from '../../core/logger';
import { forwardableHeaders, parseJsonBody, readBody, sendError, sendJson, sendText } from './http';
import { runInference } from './inference';
import { sameModel } from '../../ollama-store';
import { chatRequest, chatToLlama, embedRequest, generateRequest, generateToLlama, showRequest } from './wire';

/** Version reported on `/api/version`. NOTE: chosen to match the Ollama API this adapter implements, not read from a binary. */
export const ADAPTER_OLLAMA_VERSION = '0.12.0';

export type AdapterModel = {
  name: string;
  digest: string;
  sizeBytes: number;
  modifiedAt: string;
  family?: string;
  parameterSize?: string;
  quantizationLevel?: string;
};

export type AdapterStatus = {
  /** llama-server base URL while it is ready; null while it loads, restarts or is stopped. */
  upstream: string | null;
  /** Reason sent with the 503 response while `upstream` is null. */
  unavailableReason: string;
  /** Nanoseconds spent loading the current llama-server, reported once to the first request after a load. */
  takeLoadNs: () => number;
  sizeVramBytes: number;
  contextLength?: number;
  /** Extension field on `/api/ps`: where the layers and buffers went. */
  layers?: unknown;
};

export type AdapterOptions = {
  log: Logger;
  model: () => AdapterModel;
  status: () => AdapterStatus;
};

const POST_ROUTES = new Set(['/api/chat', '/api/generate', '/api/embed', '/api/embeddings', '/api/show']);

/**
 * A loopback HTTP server that speaks the Ollama API for one model served by llama-server, so the
 * router can treat a distributed model as an ordinary Ollama node.
 */
export class OllamaAdapter {
  private server: Server | null = null;
  private readonly inFlight = new Set<AbortController>();
  private baseUrl = '';

  constructor(private readonly options: AdapterOptions) {}

  get url(): string {
    return this.baseUrl;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  async listen(port = 0): Promise<string> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((error: Error) => {
        this.options.log.error({ err: error, url: req.url }, 'Adapter request failed');
        if (!res.headersSent) sendError(res, 500, error.message);
        else res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  /** Aborts every request in flight; streams that started end with an `{"error"}` line carrying `reason`. */
  failInFlight(reason: string): number {
    const count = this.inFlight.size;
    for (const controller of this.inFlight) controller.abort(new Error(reason));
    return count;
  }

  async close(): Promise<void> {
    this.failInFlight('the distributed model was stopped');
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://adapter').pathname;
    const method = req.method ?? 'GET';

    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      if (method === 'HEAD') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end();
      } else sendText(res, 200, 'Ollama is running');
      return;
    }
    if (path === '/api/version' && method === 'GET') return sendJson(res, 200, { version: ADAPTER_OLLAMA_VERSION });
    if (path === '/api/tags' && (method === 'GET' || method === 'HEAD')) {
      if (method === 'HEAD') {
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end();
        return;
      }
      return sendJson(res, 200, { models: [this.tagEntry()] });
    }
    if (path === '/api/ps' && method === 'GET') return sendJson(res, 200, { models: this.psEntries() });
    if (path.startsWith('/v1/')) return this.passThrough(req, res, path);
    if (POST_ROUTES.has(path)) {
      if (method !== 'POST') return sendText(res, 405, '405 method not allowed');
      return this.handlePost(req, res, path);
    }
    sendText(res, 404, '404 page not found');
  }

  private async handlePost(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch (error) {
      return sendError(res, 413, (error as Error).message);
    }
    const parsed = parseJsonBody(raw);
    if (!parsed.ok) return sendError(res, parsed.status, parsed.message);

    if (path === '/api/show') return this.show(res, parsed.value);
    if (path === '/api/chat') {
      const body = validate(chatRequest, parsed.value, res);
      if (!body || !this.checkModel(body.model, res)) return;
      const stream = body.stream ?? true;
      return this.infer(res, { path: '/v1/chat/completions', body: chatToLlama(body, stream), kind: 'chat', model: body.model, stream });
    }
    if (path === '/api/generate') {
      const body = validate(generateRequest, parsed.value, res);
      if (!body || !this.checkModel(body.model, res)) return;
      const stream = body.stream ?? true;
      if (body.prompt === '' && !body.raw) {
        // Ollama answers an empty prompt by loading the model only.
        return sendJson(res, 200, { model: body.model, created_at: new Date().toISOString(), response: '', done: true, done_reason: 'load' });
      }
      const target = generateToLlama(body, stream);
      return this.infer(res, { ...target, kind: 'generate', model: body.model, stream });
    }
    if (path === '/api/embed') return this.embed(res, parsed.value);
    return sendError(res, 501, `${path} is not served by the llama-server adapter; use /api/embed`);
  }

  private checkModel(model: string, res: ServerResponse): boolean {
    if (sameModel(model, this.options.model().name)) return true;
    sendError(res, 404, `model '${model}' not found`);
    return false;
  }

  private async infer(
    res: ServerResponse,
    call: { path: string; body: Record<string, unknown>; kind: 'chat' | 'generate'; model: string; stream: boolean },
  ): Promise<void> {
    const status = this.options.status();
    if (!status.upstream) return sendError(res, 503, status.unavailableReason);
    const controller = new AbortController();
    this.inFlight.add(controller);
    // The response's close event (not the request's) signals that the client went away.
    const onClose = () => {
      if (!res.writableFinished) controller.abort(new Error('client disconnected'));
    };
    res.on('close', onClose);
    try {
      await runInference(
        { ...call, upstream: status.upstream, loadNs: status.takeLoadNs(), signal: controller.signal, log: this.options.log },
        res,
      );
    } finally {
      this.inFlight.delete(controller);
      res.off('close', onClose);
    }
  }

  private async embed(res: ServerResponse, value: unknown): Promise<void> {
    const body = validate(embedRequest, value, res);
    if (!body || !this.checkModel(body.model, res)) return;
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const status = this.options.status();
    if (inputs.length === 0) {
      return sendJson(res, 200, { model: body.model, embeddings: [], total_duration: 0, load_duration: status.takeLoadNs(), prompt_eval_count: 0 });
    }
    if (!status.upstream) return sendError(res, 503, status.unavailableReason);

    const started = process.hrtime.bigint();
    const upstream = await fetch(`${status.upstream}/v1/embeddings`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ input: inputs }),
    }).catch((error: Error) => error);
    if (upstream instanceof Error) return sendError(res, 500, `llama-server request failed: ${upstream.message}`);

    const json = (await upstream.json().catch(() => null)) as {
      data?: Array<{ index: number; embedding: number[] }>;
      usage?: { prompt_tokens?: number };
      error?: { message?: string };
    } | null;
    if (!upstream.ok || !json?.data) {
      const detail = json?.error?.message ?? `status ${upstream.status}`;
      const message = `llama-server could not embed: ${detail} (llama-server serves embeddings only when started with --embeddings)`;
      return sendError(res, upstream.status === 501 ? 501 : 500, message);
    }

    const embeddings = [...json.data].sort((a, b) => a.index - b.index).map((d) => normalize(d.embedding));
    sendJson(res, 200, {
      model: body.model,
      embeddings,
      total_duration: Number(process.hrtime.bigint() - started),
      load_duration: status.takeLoadNs(),
      prompt_eval_count: json.usage?.prompt_tokens ?? 0,
    });
  }

  private show(res: ServerResponse, value: unknown): void {
    const body = validate(showRequest, value, res);
    if (!body) return;
    const name = body.model ?? body.name;
    if (!name) return sendError(res, 400, 'model is required');
    if (!this.checkModel(name, res)) return;
    const model = this.options.model();
    const status = this.options.status();
    sendJson(res, 200, {
      modelfile: '',
      parameters: '',
      template: '',
      details: this.details(model),
      model_info: {
        'general.architecture': model.family ?? 'unknown',
        ...(status.contextLength ? { 'llama.context_length': status.contextLength } : {}),
      },
      capabilities: ['completion'],
      modified_at: model.modifiedAt,
    });
  }

  private details(model: AdapterModel) {
    return {
      parent_model: '',
      format: 'gguf',
      family: model.family ?? '',
      families: model.family ? [model.family] : [],
      parameter_size: model.parameterSize ?? '',
      quantization_level: model.quantizationLevel ?? '',
    };
  }

  private tagEntry() {
    const model = this.options.model();
    return {
      name: model.name,
      model: model.name,
      modified_at: model.modifiedAt,
      size: model.sizeBytes,
      digest: model.digest,
      details: this.details(model),
    };
  }

  private psEntries() {
    const status = this.options.status();
    if (!status.upstream) return [];
    return [
      {
        ...this.tagEntry(),
        // llama-server keeps the model until it is stopped, so the expiry is far in the future as in Ollama's keep_alive -1.
        expires_at: '2318-08-21T00:00:00Z',
        size_vram: status.sizeVramBytes,
        context_length: status.contextLength ?? 0,
        layers: status.layers ?? null,
      },
    ];
  }

  private async passThrough(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const status = this.options.status();
    if (!status.upstream) return sendError(res, 503, status.unavailableReason);
    const method = req.method ?? 'GET';
    const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req);
    const controller = new AbortController();
    this.inFlight.add(controller);
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new Error('client disconnected'));
    });
    try {
      const search = new URL(req.url ?? '/', 'http://adapter').search;
      const upstream = await fetch(`${status.upstream}${path}${search}`, {
        method,
        headers: forwardableHeaders(req.headers),
        body,
        signal: controller.signal,
      });
      const headers: Record<string, string> = {};
      upstream.headers.forEach((v, k) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive'].includes(k)) headers[k] = v;
      });
      res.writeHead(upstream.status, headers);
      if (upstream.body) {
        for await (const chunk of upstream.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
      }
      res.end();
    } catch (error) {
      const message = controller.signal.aborted ? String((controller.signal.reason as Error)?.message) : (error as Error).message;
      if (!res.headersSent) sendError(res, 502, `llama-server request failed: ${message}`);
      else res.end();
    } finally {
      this.inFlight.delete(controller);
    }
  }
}

function validate<S extends z.ZodType>(schema: S, value: unknown, res: ServerResponse): z.output<S> | null {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const modelIssue = result.error.issues.find((i) => i.path[0] === 'model');
  if (modelIssue) {
    sendError(res, 400, 'model is required');
    return null;
  }
  const parts = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
  sendError(res, 400, `invalid request: ${parts.join('; ')}`);
  return null;
}

function normalize(vector: number[]): number[] {
  const norm = Math.sqrt(vector.reduce((s, v) => s + v * v, 0));
  return norm > 0 ? vector.map((v) => v / norm) : vector;
}
