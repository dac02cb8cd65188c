import type { Placement } from '../../../shared/types';
import { createSeededRandom, seedFromString, type RandomSource } from '../scoring/seeded-random';
import type { FleetProfile, SimModel, SimNodeProfile } from './profile';
import { planLayers, tokensPerSecond } from './placement-model';
import { digestFor, normalizeModelName } from './wire';

/** A model resident on a simulated node, as `/api/ps` reports it. */
export type LoadedSimModel = {
  model: SimModel;
  layers: number;
  sizeVram: number;
  placement: Placement;
  numCtx: number;
  /** The `num_gpu` the load was made with, or undefined for Ollama's default. */
  numGpu: number | undefined;
  /** Real epoch milliseconds after which an idle model is unloaded. */
  expiresAt: number;
  active: number;
};

/** Counters a test or benchmark reads to see what a node did. */
export type SimNodeStats = {
  requests: number;
  completed: number;
  /** Requests whose client went away before the response finished. */
  aborted: number;
  busyRejected: number;
  resets: number;
  diedMidStream: number;
  loads: number;
  unloads: number;
  generating: number;
  peakGenerating: number;
  /** Completed generations by where the model sat while it generated. */
  servedOn: Record<Placement, number>;
  tokensGenerated: number;
  /** `/api/pull` requests that added or refreshed a model. */
  pulls: number;
  /** `/api/pull` requests whose client went away before `success`. */
  pullsAborted: number;
  /** `/api/pull` requests that ended with an error line. */
  pullsFailed: number;
  deletes: number;
  copies: number;
  creates: number;
};

export class BusyError extends Error {}

/** The simulated time scale: `speed` simulated milliseconds pass per real millisecond. */
export type SimClock = { speed: number };

/**
 * The state machine behind one simulated Ollama node: pulled models, loaded models with their
 * GPU placement, generation slots with a bounded queue, slow episodes and injected faults.
 * The HTTP layer in server.ts calls it; it performs no I/O itself.
 */
export class SimEngine {
  readonly stats: SimNodeStats = {
    requests: 0,
    completed: 0,
    aborted: 0,
    busyRejected: 0,
    resets: 0,
    diedMidStream: 0,
    loads: 0,
    unloads: 0,
    generating: 0,
    peakGenerating: 0,
    servedOn: { gpu: 0, partial: 0, cpu: 0 },
    tokensGenerated: 0,
    pulls: 0,
    pullsAborted: 0,
    pullsFailed: 0,
    deletes: 0,
    copies: 0,
    creates: 0,
  };
  readonly loaded = new Map<string, LoadedSimModel>();
  readonly random: RandomSource;
  private readonly catalog = new Map<string, SimModel>();
  /** Manifest digests that differ from `digestFor(name)`: a copy keeps its source's digest. */
  private readonly digests = new Map<string, string>();
  /** Models the simulated registry serves to `/api/pull`, by normalised name. */
  private readonly registry = new Map<string, SimModel>();
  /** Uploaded blobs (`POST /api/blobs/<digest>`): digest to size in bytes. The bytes are not kept. */
  readonly blobs = new Map<string, number>();
  private readonly loading = new Map<string, Promise<LoadedSimModel>>();
  private readonly waiters: Array<() => void> = [];
  private activeSlots = 0;
  private slowUntil = 0;

  constructor(
    readonly profile: SimNodeProfile,
    fleet: FleetProfile,
    readonly clock: SimClock,
  ) {
    this.random = createSeededRandom(seedFromString(profile.name, fleet.seed));
    for (const name of profile.models) {
      const model = fleet.models.find((m) => m.name === name);
      if (model) this.catalog.set(normalizeModelName(model.name), model);
    }
    for (const model of [...fleet.models, ...fleet.pullable]) this.registry.set(normalizeModelName(model.name), model);
  }

  models(): SimModel[] {
    return [...this.catalog.values()];
  }

  findModel(name: string): SimModel | undefined {
    return this.catalog.get(normalizeModelName(name));
  }

  /** Returns the manifest digest that `/api/tags` reports for a model. */
  digestOf(model: SimModel): string {
    return this.digests.get(normalizeModelName(model.name)) ?? digestFor(model.name);
  }

  /** Looks a model up in the simulated registry that `/api/pull` downloads from. */
  findInRegistry(name: string): SimModel | undefined {
    return this.registry.get(normalizeModelName(name));
  }

  /** Adds a pulled model to this node, or replaces the one with the same name. */
  addModel(model: SimModel): void {
    const key = normalizeModelName(model.name);
    this.catalog.set(key, model);
    this.digests.delete(key);
  }

  /** Removes a model and unloads it; returns false when the node does not have it. */
  removeModel(name: string): boolean {
    const key = normalizeModelName(name);
    const model = this.catalog.get(key);
    if (!model) return false;
    this.unload(model);
    this.catalog.delete(key);
    this.digests.delete(key);
    return true;
  }

  /** Adds `destination` as another name of `source`, with the same digest; false when `source` is missing. */
  copyModel(source: string, destination: string): boolean {
    const model = this.findModel(source);
    if (!model) return false;
    const key = normalizeModelName(destination);
    this.catalog.set(key, { ...model, name: destination });
    this.digests.set(key, this.digestOf(model));
    return true;
  }

  /** Converts simulated milliseconds to real ones. */
  realMs(simMs: number): number {
    return simMs / this.clock.speed;
  }

  /** Claims a generation slot, waiting in the queue; throws BusyError when the queue is full. */
  async acquireSlot(signal: AbortSignal): Promise<() => void> {
    if (this.random() < this.profile.faults.busyChance) throw new BusyError();
    if (this.activeSlots < this.profile.parallel) {
      this.activeSlots++;
      return this.releaseOnce();
    }
    if (this.waiters.length >= this.profile.queueLimit) throw new BusyError();
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const index = this.waiters.indexOf(wake);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new Error('aborted while queued'));
      };
      this.waiters.push(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    return this.releaseOnce();
  }

  private releaseOnce(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.activeSlots--;
    };
  }

  /** Drops idle models whose keep-alive ran out. */
  expireIdle(now = Date.now()): void {
    for (const [key, entry] of this.loaded) {
      if (entry.active === 0 && entry.expiresAt <= now) {
        this.loaded.delete(key);
        this.stats.unloads++;
      }
    }
  }

  unload(model: SimModel): boolean {
    const key = normalizeModelName(model.name);
    const removed = this.loaded.delete(key);
    if (removed) this.stats.unloads++;
    return removed;
  }

  /**
   * Loads a model unless a copy with the same `num_ctx` and (when given) `num_gpu` is resident,
   * and returns it with the simulated load time in milliseconds (0 when nothing was loaded).
   */
  async ensureLoaded(
    model: SimModel,
    options: { numCtx?: number; numGpu?: number; keepAliveMs?: number },
  ): Promise<{ entry: LoadedSimModel; loadSimMs: number }> {
    const key = normalizeModelName(model.name);
    const numCtx = options.numCtx ?? model.contextLength;
    const keepAlive = options.keepAliveMs ?? this.profile.keepAliveMs;
    this.expireIdle();

    const pending = this.loading.get(key);
    if (pending) await pending;

    const current = this.loaded.get(key);
    const gpuMatches = options.numGpu === undefined || options.numGpu === current?.numGpu;
    if (current && current.numCtx === numCtx && gpuMatches) {
      current.expiresAt = Date.now() + this.realMs(keepAlive);
      return { entry: current, loadSimMs: 0 };
    }
    if (current && current.active > 0) {
      // Ollama waits for active requests before reloading with new options; the simulator
      // serves with the resident copy instead, which keeps slots from deadlocking.
      return { entry: current, loadSimMs: 0 };
    }
    if (current) this.unload(model);

    const load = this.load(model, numCtx, options.numGpu, keepAlive);
    this.loading.set(key, load);
    try {
      const entry = await load;
      return { entry, loadSimMs: this.profile.loadMs };
    } finally {
      this.loading.delete(key);
    }
  }

  private async load(
    model: SimModel,
    numCtx: number,
    numGpu: number | undefined,
    keepAliveMs: number,
  ): Promise<LoadedSimModel> {
    const free = this.freeVramFor(model);
    const landsOnCpu = this.random() < this.profile.cpuLoadChance;
    const plan = planLayers(this.profile, model, numGpu, free, landsOnCpu);
    // A load is shared by every request waiting on it, so one client leaving does not cancel it.
    await sleep(this.realMs(this.profile.loadMs));
    const entry: LoadedSimModel = {
      model,
      layers: plan.layers,
      sizeVram: plan.sizeVram,
      placement: plan.placement,
      numCtx,
      numGpu,
      expiresAt: Date.now() + this.realMs(keepAliveMs),
      active: 0,
    };
    this.loaded.set(normalizeModelName(model.name), entry);
    this.stats.loads++;
    return entry;
  }

  /** Free VRAM for `model`, after evicting idle models that stand in its way. */
  private freeVramFor(model: SimModel): number {
    const key = normalizeModelName(model.name);
    const used = () =>
      [...this.loaded.entries()].filter(([k]) => k !== key).reduce((sum, [, e]) => sum + e.sizeVram, 0);
    if (this.profile.gpuVramBytes - used() < model.sizeBytes) {
      for (const [k, entry] of [...this.loaded.entries()]) {
        if (k !== key && entry.active === 0 && entry.sizeVram > 0) {
          this.loaded.delete(k);
          this.stats.unloads++;
          if (this.profile.gpuVramBytes - used() >= model.sizeBytes) break;
        }
      }
    }
    return Math.max(0, this.profile.gpuVramBytes - used());
  }

  /** Generation speed for a loaded model right now, including any slow episode. */
  currentTokensPerSecond(entry: LoadedSimModel): number {
    const now = Date.now();
    const episodes = this.profile.slowEpisodes;
    if (episodes && now >= this.slowUntil && this.random() < episodes.probability) {
      this.slowUntil = now + this.realMs(episodes.durationMs);
    }
    const base = tokensPerSecond(this.profile, entry.layers, entry.model.blockCount + 1);
    return now < this.slowUntil && episodes ? base / episodes.slowdown : base;
  }

  /** True while a slow episode is running. */
  isSlow(): boolean {
    return Date.now() < this.slowUntil;
  }

  /** Forces a slow episode of `simMs` simulated milliseconds, for tests. */
  startSlowEpisode(simMs: number): void {
    this.slowUntil = Date.now() + this.realMs(simMs);
  }

  markGenerating(delta: 1 | -1): void {
    this.stats.generating += delta;
    this.stats.peakGenerating = Math.max(this.stats.peakGenerating, this.stats.generating);
  }
}

/** Resolves after `ms` real milliseconds, or rejects when the signal aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
