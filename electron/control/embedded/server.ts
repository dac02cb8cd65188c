import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getLlama, type Llama } from 'node-llama-cpp';
import { createSilentLogger, type Logger } from '../core/logger';
import { defaultOllamaStoreDirs } from '../ollama-store/store';
import { createOpenAiHandler, type OpenAiHandler } from '../openai';
import { ModelCatalog } from './catalog';
import { LlamaErrorLog } from './llama-log';
import { DEFAULT_NUM_CTX, type NodeContext } from './context';
import { handleChat, handleGenerate } from './generate-handlers';
import { HttpError, sendError, sendJson, sendText } from './http';
import { handleEmbed, handleEmbeddings, handlePs, handleShow, handleTags } from './info-handlers';
import { ModelScheduler } from './scheduler';

/** The Ollama API version this node reports on `/api/version`. */
export const EMBEDDED_OLLAMA_VERSION = '0.12.0';

export type EmbeddedNodeOptions = {
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 (the default) picks a free one. */
  port?: number;
  /** Folder whose `*.gguf` files are served as `name:latest`. */
  modelsDir?: string;
  /** Ollama store folders to serve too; false serves none; default: Ollama's usual folders. */
  ollamaStoreDirs?: string[] | false;
  log?: Logger;
  /** Generations that run at once per model; default 1, Ollama's default OLLAMA_NUM_PARALLEL. */
  parallel?: number;
  /** Requests that may wait per model before 503; default 512, Ollama's default OLLAMA_MAX_QUEUE. */
  maxQueue?: number;
  /** Context size when a request gives no `num_ctx`; default 2048 tokens. */
  defaultNumCtx?: number;
  /** CPU threads per context; default: half the math cores, at least 1. */
  threads?: number;
};

export type EmbeddedNode = {
  url: string;
  port: number;
  close(): Promise<void>;
};

type Route = (node: NodeContext, req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * Ollama's model-store endpoints and the verb each performs. This node serves GGUF files where
 * they lie and must never write or delete them, so it rejects these requests with an error.
 */
const MODEL_STORE_VERBS: Record<string, string> = {
  '/api/pull': 'pull',
  '/api/push': 'push',
  '/api/create': 'create',
  '/api/copy': 'copy',
  '/api/delete': 'delete',
};

const POST_ROUTES: Record<string, Route> = {
  '/api/chat': handleChat,
  '/api/generate': handleGenerate,
  '/api/embed': handleEmbed,
  '/api/embeddings': handleEmbeddings,
  '/api/show': handleShow,
};

/**
 * Starts an HTTP server that speaks the Ollama API and runs models in-process with node-llama-cpp
 * (GPU when one is usable, CPU otherwise). Resolves once it listens.
 */
export async function startEmbeddedNode(options: EmbeddedNodeOptions = {}): Promise<EmbeddedNode> {
  const log = options.log ?? createSilentLogger();
  const parallel = positiveInteger('parallel', options.parallel ?? 1);
  const maxQueue = positiveInteger('maxQueue', options.maxQueue ?? 512);
  const defaultNumCtx = positiveInteger('defaultNumCtx', options.defaultNumCtx ?? DEFAULT_NUM_CTX);
  const threads = options.threads === undefined ? undefined : positiveInteger('threads', options.threads);

  let llamaPromise: Promise<Llama> | undefined;
  const llamaErrors = new LlamaErrorLog();
  const loadLlama = () => {
    llamaPromise ??= getLlama({
      gpu: 'auto',
      build: 'never',
      logger: (level, message) => {
        llamaErrors.record(level, message);
        log.debug({ level }, message.trim());
      },
    });
    return llamaPromise;
  };

  const storeDirs = options.ollamaStoreDirs === false ? [] : (options.ollamaStoreDirs ?? defaultOllamaStoreDirs());
  const node: NodeContext = {
    catalog: new ModelCatalog(options.modelsDir, storeDirs, log),
    scheduler: new ModelScheduler({ getLlama: loadLlama, parallel, maxQueue, threads, log, llamaErrors }),
    getLlama: loadLlama,
    defaultNumCtx,
    log,
  };

  // The OpenAI routes call this node's own Ollama API over loopback once it listens.
  let loopbackUrl = '';
  const openai = createOpenAiHandler({ ollamaUrl: () => loopbackUrl, log });
  const server = createServer((req, res) => {
    void route(node, openai, req, res);
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostForUrl}:${address.port}`;
  loopbackUrl = `http://${loopbackHost(address)}:${address.port}`;
  log.info({ url, modelsDir: options.modelsDir, storeDirs, parallel }, 'Embedded node listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    close: () => {
      closing ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await node.scheduler.close();
        if (llamaPromise) await disposeLlama(llamaPromise, log);
        log.info({ url }, 'Embedded node stopped');
      })();
      return closing;
    },
  };
}

async function route(node: NodeContext, openai: OpenAiHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const method = req.method ?? 'GET';
  try {
    if (path.startsWith('/v1/') && (await openai(req, res))) return;
    if (path === '/') {
      if (method === 'GET' || method === 'HEAD') return sendText(res, 200, 'Ollama is running', method === 'HEAD');
      return methodNotAllowed(res);
    }
    if (path === '/api/version') {
      if (method === 'GET' || method === 'HEAD') return sendJson(res, 200, { version: EMBEDDED_OLLAMA_VERSION, synaptic_node: 'embedded' });
      return methodNotAllowed(res);
    }
    if (path === '/api/tags') {
      if (method === 'HEAD') return sendText(res, 200, '', true);
      if (method === 'GET') return await handleTags(node, res);
      return methodNotAllowed(res);
    }
    if (path === '/api/ps') {
      if (method === 'GET') return await handlePs(node, res);
      return methodNotAllowed(res);
    }
    const storeVerb = path.startsWith('/api/blobs/') ? 'upload blobs for' : MODEL_STORE_VERBS[path];
    if (storeVerb) {
      req.resume();
      return sendError(res, 501, modelStoreMessage(storeVerb));
    }
    const handler = POST_ROUTES[path];
    if (!handler) return sendText(res, 404, '404 page not found');
    if (method !== 'POST') return methodNotAllowed(res);
    await handler(node, req, res);
  } catch (error) {
    replyWithError(node, req, res, error);
  }
}

function replyWithError(node: NodeContext, req: IncomingMessage, res: ServerResponse, error: unknown): void {
  if (res.headersSent || res.destroyed) {
    if (!(error instanceof Error && error.name === 'AbortError')) {
      node.log.error({ err: error, path: req.url }, 'Request failed after the response started');
    }
    res.destroy();
    return;
  }
  if (error instanceof HttpError) {
    if (error.status >= 500) node.log.error({ path: req.url, status: error.status, err: error }, 'Request failed');
    sendError(res, error.status, error.message);
    return;
  }
  node.log.error({ err: error, path: req.url }, 'Request failed');
  sendError(res, 500, error instanceof Error ? error.message : String(error));
}

/** Maximum wait for the llama.cpp bindings to dispose before shutdown goes on without them. */
const LLAMA_DISPOSE_TIMEOUT_MS = 5_000;

/**
 * Disposes the llama.cpp bindings, waiting at most LLAMA_DISPOSE_TIMEOUT_MS.
 * NOTE: in node-llama-cpp 3.21.1, once the garbage collector has freed a model whose `loadModel`
 * failed, `Llama.dispose()` never resolves (loads and generation still work). Shutdown then goes
 * on without it, and the bindings are freed when the process exits.
 */
async function disposeLlama(llamaPromise: Promise<Llama>, log: Logger): Promise<void> {
  const llama = await llamaPromise.catch(() => null);
  if (!llama) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), LLAMA_DISPOSE_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([llama.dispose().then(() => 'disposed' as const), timedOut]);
    if (outcome === 'timeout') {
      log.warn({ timeoutMs: LLAMA_DISPOSE_TIMEOUT_MS }, 'Timed out disposing the llama.cpp bindings, so shutdown continues without them');
    }
  } catch (error) {
    log.error({ err: error }, 'Failed to dispose the llama.cpp bindings');
  } finally {
    clearTimeout(timer);
  }
}

/** Returns a host that reaches this server from itself, using loopback for a wildcard bind. */
function loopbackHost(address: AddressInfo): string {
  if (address.address === '0.0.0.0') return '127.0.0.1';
  if (address.address === '::') return '[::1]';
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
}

/** Returns the error message for a model-store request; exported so tests can match it exactly. */
export function modelStoreMessage(verb: string): string {
  return `the embedded node cannot ${verb} models: it serves GGUF files in place from its models folder and Ollama's store, and never changes them; use an Ollama node, or add a .gguf file to the models folder`;
}

function methodNotAllowed(res: ServerResponse): void {
  sendText(res, 405, '405 method not allowed');
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`invalid ${name} ${value}: expected a positive integer`);
  }
  return value;
}
