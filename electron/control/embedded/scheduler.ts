import type { Llama, LlamaContext, LlamaEmbeddingContext, LlamaModel } from 'node-llama-cpp';
import type { Logger } from '../core/logger';
import type { CatalogModel } from './catalog';
import { HttpError } from './http';
import { DEFAULT_KEEP_ALIVE_MS } from './keep-alive';
import type { LlamaErrorLog } from './llama-log';

/** Settings a loaded copy was built with; a request asking for others reloads the model. */
export type LoadConfig = {
  numCtx: number;
  /** Layers to offload to the GPU; undefined lets node-llama-cpp decide. */
  numGpu: number | undefined;
};

export type SchedulerOptions = {
  getLlama: () => Promise<Llama>;
  /** Generations that run at once per model (context sequences). */
  parallel: number;
  /** Requests that may wait per model before new ones get 503. */
  maxQueue: number;
  /** CPU threads per context; default: half the math cores, at least 1 (see defaultThreads). */
  threads?: number;
  log: Logger;
  /** llama.cpp's error lines, for the reason of a failed load; without it the reason is node-llama-cpp's. */
  llamaErrors?: LlamaErrorLog;
  now?: () => number;
};

/** A claimed generation slot. Call `release` in a `finally`; calls after the first do nothing. */
export type Lease = {
  model: LlamaModel;
  context: LlamaContext;
  contextLength: number;
  /** Nanoseconds spent loading for this request; 0 when the model was already loaded. */
  loadDurationNs: number;
  embeddingContext(): Promise<LlamaEmbeddingContext>;
  release(keepAliveMs: number): void;
};

/** A loaded model as `/api/ps` reports it. */
export type RunningModel = {
  entry: CatalogModel;
  contextLength: number;
  sizeBytes: number;
  sizeVramBytes: number;
  expiresAt: number;
};

/**
 * Start of every error message of a failed model load (500 `failed to load model '<name>': <reason>`),
 * whether the bindings, the weights or the context failed, so a gateway can tell it from a node fault.
 */
export const MODEL_LOAD_FAILURE_PREFIX = 'failed to load model';

export const BUSY_MESSAGE = 'server busy, please try again.  maximum pending requests exceeded';

type Loaded = {
  model: LlamaModel;
  context: LlamaContext;
  embedding?: Promise<LlamaEmbeddingContext>;
  config: LoadConfig;
  contextLength: number;
  /** Estimated KV cache and compute buffer bytes of the context, split by where they live. */
  contextBytes: { cpuRam: number; gpuVram: number };
  pendingLoadNs: number;
};

type Waiter = {
  config: LoadConfig;
  resolve: (lease: Lease) => void;
  reject: (error: Error) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
};

// setTimeout cannot wait longer than this; longer keep-alives re-arm the timer.
const MAX_TIMER_MS = 2_147_483_647;

/** Loads, shares and unloads the models of one embedded node. */
export class ModelScheduler {
  private readonly runners = new Map<string, ModelRunner>();

  constructor(private readonly options: SchedulerOptions) {}

  /**
   * Waits for a free slot of `entry` loaded with `config`, loading or reloading it as needed.
   * Rejects with 503 when the model's queue is full and with an AbortError when `signal` fires.
   */
  acquire(entry: CatalogModel, config: LoadConfig, signal?: AbortSignal): Promise<Lease> {
    let runner = this.runners.get(entry.path);
    if (!runner) {
      runner = new ModelRunner(entry, this.options);
      this.runners.set(entry.path, runner);
    }
    return runner.acquire(config, signal);
  }

  /** Unloads a model once its running requests finish (keep_alive 0 with no prompt). */
  async unload(entry: CatalogModel): Promise<void> {
    await this.runners.get(entry.path)?.unloadWhenIdle();
  }

  /** Returns the loaded copy of a model, or undefined when it is not loaded. */
  loadedModel(entry: CatalogModel): LlamaModel | undefined {
    return this.runners.get(entry.path)?.loadedModel();
  }

  running(): RunningModel[] {
    const models: RunningModel[] = [];
    for (const runner of this.runners.values()) {
      const view = runner.view();
      if (view) models.push(view);
    }
    return models;
  }

  async close(): Promise<void> {
    await Promise.all([...this.runners.values()].map((runner) => runner.close()));
    this.runners.clear();
  }
}

class ModelRunner {
  private loaded: Loaded | null = null;
  private busy = false;
  private active = 0;
  private readonly queue: Waiter[] = [];
  private expiresAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private unloadWhenIdleRequested = false;
  private readonly log: Logger;

  constructor(
    private readonly entry: CatalogModel,
    private readonly options: SchedulerOptions,
  ) {
    this.log = options.log.child({ model: entry.name });
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  acquire(config: LoadConfig, signal?: AbortSignal): Promise<Lease> {
    if (this.closed) return Promise.reject(new HttpError(503, 'server is shutting down'));
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.queue.length >= this.options.maxQueue) {
      this.log.warn({ queued: this.queue.length }, 'Rejected request: queue full');
      return Promise.reject(new HttpError(503, BUSY_MESSAGE));
    }

    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = { config, resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          reject(abortError());
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      this.pump();
    });
  }

  /** Grants slots to waiters in order, loading or reloading the model when the config differs. */
  private pump(): void {
    while (!this.busy && this.queue.length > 0) {
      const waiter = this.queue[0];
      const loaded = this.loaded;

      if (loaded && sameConfig(loaded.config, waiter.config)) {
        if (this.active >= this.options.parallel) return;
        this.queue.shift();
        this.grant(waiter, loaded);
        continue;
      }

      // A different config needs a reload, which waits for running requests to finish. The
      // waiter that triggers a load leaves the queue, so it does not count against maxQueue.
      if (loaded && this.active > 0) return;
      this.queue.shift();
      this.busy = true;
      void this.reload(waiter.config).then(
        () => {
          this.busy = false;
          if (waiter.signal?.aborted) this.scheduleExpiry(DEFAULT_KEEP_ALIVE_MS);
          else this.grant(waiter, this.loaded!);
          this.pump();
        },
        (error: Error) => {
          this.busy = false;
          this.detach(waiter);
          waiter.reject(error);
          this.pump();
        },
      );
      return;
    }
  }

  private grant(waiter: Waiter, loaded: Loaded): void {
    this.detach(waiter);
    this.active += 1;
    this.clearTimer();

    const loadDurationNs = loaded.pendingLoadNs;
    loaded.pendingLoadNs = 0;
    let released = false;

    waiter.resolve({
      model: loaded.model,
      context: loaded.context,
      contextLength: loaded.contextLength,
      loadDurationNs,
      embeddingContext: () => {
        loaded.embedding ??= loaded.model.createEmbeddingContext({
          contextSize: loaded.contextLength,
          threads: loaded.context.idealThreads,
        });
        return loaded.embedding;
      },
      release: (keepAliveMs: number) => {
        if (released) return;
        released = true;
        this.active -= 1;
        this.scheduleExpiry(keepAliveMs);
        this.pump();
      },
    });
  }

  private detach(waiter: Waiter): void {
    if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
  }

  private async reload(config: LoadConfig): Promise<void> {
    if (this.loaded) await this.dispose('reload');
    const started = process.hrtime.bigint();
    let llama: Llama;
    try {
      llama = await this.options.getLlama();
    } catch (error) {
      this.log.error({ err: error }, 'Failed to start the llama.cpp bindings');
      throw this.loadFailure(`the llama.cpp bindings failed to start: ${(error as Error).message}`);
    }

    let model: LlamaModel;
    const logMark = this.options.llamaErrors?.mark() ?? 0;
    try {
      model = await llama.loadModel({
        modelPath: this.entry.path,
        gpuLayers: config.numGpu === undefined ? 'auto' : config.numGpu,
      });
    } catch (error) {
      const reason = this.options.llamaErrors?.loadErrorSince(logMark) ?? (error as Error).message;
      this.log.error({ err: error, path: this.entry.path, reason }, 'Failed to load model');
      throw this.loadFailure(reason);
    }

    let context: LlamaContext;
    const contextLength = Math.min(config.numCtx, model.trainContextSize || config.numCtx);
    try {
      context = await model.createContext({
        contextSize: contextLength,
        sequences: this.options.parallel,
        threads: this.threads(llama),
      });
    } catch (error) {
      await model.dispose();
      this.log.error({ err: error, numCtx: contextLength }, 'Failed to create context');
      throw this.loadFailure(`failed to create a ${contextLength}-token context: ${(error as Error).message}`);
    }

    const contextBytes = await this.estimateContextBytes(model, context);
    const loadDurationNs = Number(process.hrtime.bigint() - started);
    this.loaded = { model, context, config, contextLength, contextBytes, pendingLoadNs: loadDurationNs };
    this.log.info(
      { numCtx: contextLength, gpuLayers: model.gpuLayers, loadMs: Math.round(loadDurationNs / 1e6) },
      'Loaded model',
    );
  }

  private loadFailure(reason: string): HttpError {
    return new HttpError(500, `${MODEL_LOAD_FAILURE_PREFIX} '${this.entry.name}': ${reason}`);
  }

  private async estimateContextBytes(model: LlamaModel, context: LlamaContext) {
    try {
      const estimate = await model.fileInsights.estimateContextResourceRequirementsV2({
        contextSize: context.contextSize,
        modelGpuLayers: model.gpuLayers,
        sequences: this.options.parallel,
      });
      return { cpuRam: estimate.cpuRam, gpuVram: estimate.gpuVram };
    } catch (error) {
      this.log.warn({ err: error }, 'Failed to estimate context memory; /api/ps reports the weights only');
      return { cpuRam: 0, gpuVram: 0 };
    }
  }

  private threads(llama: Llama): number {
    return this.options.threads ?? defaultThreads(llama.cpuMathCores);
  }

  private scheduleExpiry(keepAliveMs: number): void {
    this.expiresAt = this.now() + keepAliveMs;
    if (this.active > 0) return;
    this.clearTimer();
    if (keepAliveMs <= 0 || this.unloadWhenIdleRequested) {
      this.unloadWhenIdleRequested = false;
      if (this.queue.length === 0) void this.dispose('keep_alive 0');
      return;
    }
    if (!Number.isFinite(keepAliveMs)) return;
    this.armTimer();
  }

  private armTimer(): void {
    const wait = Math.max(0, Math.min(this.expiresAt - this.now(), MAX_TIMER_MS));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.active > 0 || this.busy) return;
      if (this.now() < this.expiresAt) {
        this.armTimer();
        return;
      }
      void this.dispose('keep_alive expired');
    }, wait);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  async unloadWhenIdle(): Promise<void> {
    this.expiresAt = this.now();
    if (this.active === 0 && !this.busy && this.queue.length === 0) {
      await this.dispose('keep_alive 0');
      return;
    }
    this.unloadWhenIdleRequested = true;
  }

  private async dispose(reason: string): Promise<void> {
    const loaded = this.loaded;
    if (!loaded) return;
    this.loaded = null;
    this.clearTimer();
    try {
      if (loaded.embedding) await (await loaded.embedding.catch(() => null))?.dispose();
      await loaded.context.dispose();
      await loaded.model.dispose();
      this.log.info({ reason }, 'Unloaded model');
    } catch (error) {
      this.log.error({ err: error, reason }, 'Failed to unload model');
    }
  }

  loadedModel(): LlamaModel | undefined {
    return this.loaded?.model;
  }

  view(): RunningModel | null {
    const loaded = this.loaded;
    if (!loaded) return null;
    const { cpuRam, gpuVram } = loaded.contextBytes;
    return {
      entry: this.entry,
      contextLength: loaded.contextLength,
      sizeBytes: loaded.model.size + cpuRam + gpuVram,
      sizeVramBytes: estimateWeightsVram(loaded.model) + gpuVram,
      expiresAt: this.displayedExpiry(),
    };
  }

  private displayedExpiry(): number {
    // Ollama reports a time centuries ahead for a model that never expires; 100 years will do.
    if (!Number.isFinite(this.expiresAt)) return this.now() + 100 * 365 * 86_400_000;
    return this.active > 0 ? Math.max(this.expiresAt, this.now()) : this.expiresAt;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.queue.splice(0)) {
      this.detach(waiter);
      waiter.reject(new HttpError(503, 'server is shutting down'));
    }
    await this.dispose('shutdown');
  }
}

/**
 * Estimates the weight bytes in GPU memory: none on CPU, all when every layer is offloaded,
 * otherwise the offloaded share of the layers.
 */
function estimateWeightsVram(model: LlamaModel): number {
  // NOTE: a partial offload is estimated by layer share; node-llama-cpp does not report per-model VRAM.
  const gpuLayers = model.gpuLayers;
  if (!gpuLayers || gpuLayers <= 0) return 0;
  const layers = model.fileInsights.totalLayers;
  if (!layers || gpuLayers >= layers) return model.size;
  return Math.round((model.size * gpuLayers) / layers);
}

/**
 * Returns half the math cores, at least 1. ggml's worker threads spin while they wait, so a
 * context that claims every core decodes many times slower once anything else (the UI, the
 * control plane, other nodes) competes for those cores.
 */
export function defaultThreads(cpuMathCores: number): number {
  return Math.max(1, Math.floor(cpuMathCores / 2));
}

function sameConfig(a: LoadConfig, b: LoadConfig): boolean {
  return a.numCtx === b.numCtx && a.numGpu === b.numGpu;
}

function abortError(): Error {
  const error = new Error('request cancelled by client');
  error.name = 'AbortError';
  return error;
}
