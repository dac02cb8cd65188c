import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSilentLogger } from '../core/logger';
import { createOpenAiHandler } from '../openai';
import { BusyError, SimEngine, type SimClock } from './engine';
import { writeGeneration } from './generation';
import { handleBlob, handleCreate } from './create';
import { handleModelManagement } from './manage';
import type { FleetProfile, SimModel, SimNodeProfile } from './profile';
import { embeddingFor, estimateTokens, readJsonBody, sendError, sendJson, sendPlain } from './wire';

/** Ollama's exact message when its request queue is full. */
export const busyMessage = 'server busy, please try again.  maximum pending requests exceeded';

const routes: Record<string, string[]> = {
  '/': ['GET', 'HEAD'],
  '/api/version': ['GET', 'HEAD'],
  '/api/tags': ['GET', 'HEAD'],
  '/api/ps': ['GET'],
  '/api/show': ['POST'],
  '/api/chat': ['POST'],
  '/api/generate': ['POST'],
  '/api/embed': ['POST'],
  '/api/embeddings': ['POST'],
  '/api/pull': ['POST'],
  '/api/delete': ['DELETE'],
  '/api/copy': ['POST'],
  '/api/create': ['POST'],
};

const blobPrefix = '/api/blobs/';

/** One simulated Ollama node listening on a loopback port. */
export type SimNode = {
  name: string;
  url: string;
  port: number;
  engine: SimEngine;
  close(): Promise<void>;
};

export async function startSimNode(
  profile: SimNodeProfile,
  fleet: FleetProfile,
  clock: SimClock,
  host = '127.0.0.1',
  port = 0,
): Promise<SimNode> {
  const engine = new SimEngine(profile, fleet, clock);
  // The OpenAI routes call this node's own Ollama API over loopback once it listens.
  let url = '';
  const openai = createOpenAiHandler({ ollamaUrl: () => url, log: createSilentLogger() });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://sim').pathname;
    const work = path.startsWith('/v1/') ? openai(req, res) : handle(engine, req, res);
    work.catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, `simulator failed: ${(error as Error).message}`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  url = `http://${host}:${address.port}`;
  return {
    name: profile.name,
    url,
    port: address.port,
    engine,
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function handle(engine: SimEngine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://sim').pathname;
  const method = req.method ?? 'GET';
  if (path.startsWith(blobPrefix)) {
    if (method !== 'HEAD' && method !== 'POST') return sendPlain(res, 405, '405 method not allowed');
    return handleBlob(engine, decodeURIComponent(path.slice(blobPrefix.length)), req, res);
  }
  const allowed = routes[path];
  if (!allowed) return sendPlain(res, 404, '404 page not found');
  if (!allowed.includes(method)) return sendPlain(res, 405, '405 method not allowed');
  const head = method === 'HEAD';

  switch (path) {
    case '/':
      return sendPlain(res, 200, 'Ollama is running', head);
    case '/api/version':
      return head ? sendPlain(res, 200, '', true) : sendJson(res, 200, { version: engine.profile.version });
    case '/api/tags':
      return head ? sendPlain(res, 200, '', true) : sendJson(res, 200, { models: engine.models().map((m) => tagEntry(engine, m)) });
    case '/api/ps':
      engine.expireIdle();
      return sendJson(res, 200, { models: [...engine.loaded.values()].map((e) => ({ ...tagEntry(engine, e.model), expires_at: new Date(e.expiresAt).toISOString(), size_vram: e.sizeVram, context_length: e.numCtx })) });
    case '/api/pull':
    case '/api/delete':
    case '/api/copy':
      return handleModelManagement(engine, path, req, res);
    case '/api/create':
      return handleCreate(engine, req, res);
  }

  const body = await readJsonBody(req);
  if (body.kind === 'empty') return sendError(res, 400, 'missing request body');
  if (body.kind === 'invalid') return sendError(res, 400, body.message);
  if (typeof body.value !== 'object' || body.value === null || Array.isArray(body.value)) {
    return sendError(res, 400, 'request body must be a JSON object');
  }
  const request = body.value as Record<string, unknown>;
  const modelName = requestedModel(request);
  if (modelName === '') return sendError(res, 400, 'model is required');
  const model = engine.findModel(modelName);
  if (!model) return sendError(res, 404, `model '${modelName}' not found`);

  if (path === '/api/show') return sendJson(res, 200, showBody(engine, model));
  return serveWork(engine, path, modelName, model, request, res);
}

async function serveWork(
  engine: SimEngine,
  path: string,
  modelName: string,
  model: SimModel,
  request: Record<string, unknown>,
  res: ServerResponse,
): Promise<void> {
  const isEmbed = path === '/api/embed' || path === '/api/embeddings';
  const kind = path === '/api/chat' ? 'chat' : 'generate';
  if (!isEmbed && model.embeddingOnly) return sendError(res, 400, `"${modelName}" does not support ${kind}`);

  const options = (typeof request.options === 'object' && request.options !== null ? request.options : {}) as Record<string, unknown>;
  const numCtx = positiveInt(options.num_ctx);
  const numGpu = typeof options.num_gpu === 'number' && options.num_gpu >= 0 ? Math.floor(options.num_gpu) : undefined;
  const numPredict = positiveInt(options.num_predict);
  const keepAliveMs = parseKeepAlive(request.keep_alive);
  if (keepAliveMs === 'invalid') return sendError(res, 400, `invalid keep_alive value: ${JSON.stringify(request.keep_alive)}`);

  const promptText = promptOf(path, request);
  const loadOnly = !isEmbed && promptText === '';
  if (loadOnly && keepAliveMs === 0) {
    engine.unload(model);
    return sendJson(res, 200, doneOnly(kind, modelName, 'unload'));
  }

  engine.stats.requests++;
  if (engine.random() < engine.profile.faults.resetChance) {
    engine.stats.resets++;
    res.socket?.destroy();
    return;
  }

  const controller = new AbortController();
  let finished = false;
  res.on('close', () => {
    if (!finished) {
      engine.stats.aborted++;
      controller.abort();
    }
  });

  let release: (() => void) | undefined;
  try {
    release = await engine.acquireSlot(controller.signal);
  } catch (error) {
    finished = true;
    if (error instanceof BusyError) {
      engine.stats.busyRejected++;
      return sendError(res, 503, busyMessage);
    }
    return;
  }

  let entryActive: { active: number } | undefined;
  engine.markGenerating(1);
  try {
    const { entry, loadSimMs } = await engine.ensureLoaded(model, { numCtx, numGpu, keepAliveMs });
    entry.active++;
    entryActive = entry;
    if (loadOnly) {
      finished = true;
      return sendJson(res, 200, { ...doneOnly(kind, modelName, 'load'), load_duration: Math.round(loadSimMs * 1e6) });
    }
    if (isEmbed) {
      finished = true;
      return sendEmbedding(engine, path, modelName, model, request, loadSimMs, res);
    }
    const stream = request.stream !== false;
    const ok = await writeGeneration(engine, res, { kind, modelName, promptText, stream, numPredict, loadSimMs, entry, signal: controller.signal });
    finished = true;
    if (ok) engine.stats.completed++;
  } catch {
    // Aborted by the client: the `close` handler has already counted it.
    finished = true;
  } finally {
    if (entryActive) entryActive.active--;
    engine.markGenerating(-1);
    release();
  }
}

function sendEmbedding(
  engine: SimEngine,
  path: string,
  modelName: string,
  model: SimModel,
  request: Record<string, unknown>,
  loadSimMs: number,
  res: ServerResponse,
): void {
  if (path === '/api/embeddings') {
    const prompt = typeof request.prompt === 'string' ? request.prompt : '';
    return sendJson(res, 200, { embedding: prompt === '' ? [] : embeddingFor(prompt, model.embeddingLength, false) });
  }
  const input = request.input;
  const texts = embedInputs(input);
  if (texts === null) {
    return sendError(res, 400, 'invalid input type: input must be a string or an array of strings');
  }
  const promptTokens = texts.reduce((sum, t) => sum + estimateTokens(t), 0);
  engine.stats.completed++;
  sendJson(res, 200, {
    model: modelName,
    embeddings: texts.map((t) => embeddingFor(t, model.embeddingLength, true)),
    total_duration: Math.round((loadSimMs + promptTokens) * 1e6),
    load_duration: Math.round(loadSimMs * 1e6),
    prompt_eval_count: promptTokens,
  });
}

function tagEntry(engine: SimEngine, model: SimModel) {
  return {
    name: model.name,
    model: model.name,
    modified_at: '2026-01-01T00:00:00Z',
    size: model.sizeBytes,
    digest: engine.digestOf(model),
    details: {
      parent_model: '',
      format: 'gguf',
      family: model.family,
      families: [model.family],
      parameter_size: model.parameterSize,
      quantization_level: model.quantizationLevel,
    },
  };
}

function showBody(engine: SimEngine, model: SimModel) {
  const arch = model.family;
  return {
    license: '',
    modelfile: `FROM ${model.name}\n`,
    parameters: '',
    template: '{{ .Prompt }}',
    details: tagEntry(engine, model).details,
    model_info: {
      'general.architecture': arch,
      'general.parameter_count': 0,
      [`${arch}.block_count`]: model.blockCount,
      [`${arch}.context_length`]: model.contextLength,
      [`${arch}.embedding_length`]: model.embeddingLength,
    },
    capabilities: model.embeddingOnly ? ['embedding'] : ['completion'],
    modified_at: '2026-01-01T00:00:00Z',
  };
}

function doneOnly(kind: 'chat' | 'generate', model: string, reason: 'load' | 'unload') {
  const created_at = new Date().toISOString();
  return kind === 'chat'
    ? { model, created_at, message: { role: 'assistant', content: '' }, done_reason: reason, done: true }
    : { model, created_at, response: '', done: true, done_reason: reason };
}

function promptOf(path: string, request: Record<string, unknown>): string {
  if (path === '/api/chat') {
    const messages = Array.isArray(request.messages) ? request.messages : [];
    return messages.map((m) => (typeof m?.content === 'string' ? m.content : '')).join('\n');
  }
  return typeof request.prompt === 'string' ? request.prompt : '';
}

/** Reads `model`, or the older `name` that `/api/show` still accepts; empty when neither is set. */
function requestedModel(request: Record<string, unknown>): string {
  if (typeof request.model === 'string') return request.model;
  if (typeof request.name === 'string') return request.name;
  return '';
}

/** Returns `/api/embed` inputs as a list of strings, or null when the input has another type. */
function embedInputs(input: unknown): string[] | null {
  if (input === undefined) return [];
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.every((item) => typeof item === 'string')) return input;
  return null;
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : undefined;
}

/**
 * Parses Ollama's `keep_alive`: a number of seconds or a Go duration string ("5m", "30s", "1h").
 * A negative value keeps the model loaded indefinitely. Returns milliseconds or undefined.
 */
export function parseKeepAlive(value: unknown): number | undefined | 'invalid' {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value < 0 ? Number.MAX_SAFE_INTEGER : value * 1000;
  if (typeof value !== 'string') return 'invalid';
  const match = /^(-?\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) return 'invalid';
  const amount = Number(match[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  return amount < 0 ? Number.MAX_SAFE_INTEGER : amount * unit;
}
