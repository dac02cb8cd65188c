import type { Llama } from 'node-llama-cpp';
import type { Logger } from '../core/logger';
import type { CatalogModel, ModelCatalog } from './catalog';
import { HttpError } from './http';
import { parseKeepAlive } from './keep-alive';
import type { LoadConfig, ModelScheduler } from './scheduler';
import type { ModelOptions } from './schemas';

/** Context size used when a request gives no `num_ctx`. */
export const DEFAULT_NUM_CTX = 2048;

/** State shared by the request handlers of one embedded node. */
export type NodeContext = {
  catalog: ModelCatalog;
  scheduler: ModelScheduler;
  getLlama: () => Promise<Llama>;
  defaultNumCtx: number;
  log: Logger;
};

/** Finds a model or throws Ollama's 404 `model 'x' not found`, quoting the name as sent. */
export async function findModel(node: NodeContext, name: string): Promise<CatalogModel> {
  const entry = await node.catalog.find(name);
  if (!entry) throw new HttpError(404, `model '${name}' not found`);
  return entry;
}

export function loadConfigFor(node: NodeContext, options: ModelOptions): LoadConfig {
  return {
    numCtx: options.num_ctx ?? node.defaultNumCtx,
    numGpu: options.num_gpu === undefined || options.num_gpu < 0 ? undefined : options.num_gpu,
  };
}

export function keepAliveMs(value: string | number | undefined): number {
  const parsed = parseKeepAlive(value);
  if ('error' in parsed) throw new HttpError(400, parsed.error);
  return parsed.ms;
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** Creates an AbortController that fires when the client goes away before the response ends. */
export function abortOnClose(res: import('node:http').ServerResponse): AbortController {
  const controller = new AbortController();
  // A client can leave while the body is read or the model is looked up, before this runs.
  if (res.destroyed && !res.writableFinished) controller.abort();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller;
}
