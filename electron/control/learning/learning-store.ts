import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../core/logger';
import { readJson, SerialWriter } from '../core/json-store';
import type { TaskType } from '../analysis/task-type';
import { canonicalModelName, displayModelName, parseModelName } from '../ollama-store/model-name';
import { estimatePrior, type PriorHint } from './prior';
import { ewma, percentile } from './statistics';

/** Learned performance for one (node, model, task type). */
export type LearnedStats = {
  ttftMs: number;
  tokensPerSec: number;
  latencyMs: number;
  /** 0 to 1. */
  successRate: number;
  /** Observations weighted by age; 0 means the numbers are the prior. */
  samples: number;
};

/** One finished request as the gateway measured it. */
export type Observation = {
  nodeId: string;
  model: string;
  taskType: TaskType;
  ok: boolean;
  latencyMs: number;
  ttftMs?: number;
  /** Generation speed, e.g. eval_count / eval_duration from the final `done` line. */
  tokensPerSec?: number;
};

export type PriorSource = (nodeId: string, model: string, taskType: TaskType, hint?: PriorHint) => LearnedStats;

export type LearningOptions = {
  dataDir: string;
  log: Logger;
  now?: () => number;
  /** Weight of the newest observation in each EWMA, 0 to 1. */
  alpha?: number;
  /** Time after which an entry's weight against the prior halves, in milliseconds. */
  halfLifeMs?: number;
  prior?: PriorSource;
  /** Delay before a scheduled save, in milliseconds. */
  saveDelayMs?: number;
};

const entrySchema = z.object({
  ttftMs: z.number().nonnegative(),
  tokensPerSec: z.number().nonnegative(),
  latencyMs: z.number().nonnegative(),
  successRate: z.number().min(0).max(1),
  samples: z.number().int().nonnegative(),
  updatedAt: z.number(),
  recentTtftMs: z.array(z.number().nonnegative()).max(256),
  /** Readable model name for display, e.g. `llama3.2:latest`; the key contains the canonical name. */
  displayName: z.string().max(512).optional(),
});
type Entry = z.output<typeof entrySchema>;

const fileSchema = z.object({ version: z.literal(1), entries: z.record(z.string(), entrySchema) });

/**
 * Prior for a (node, model) with no history, scaled by the model size and GPU share when the
 * caller knows them, else a middling CPU-class node that gets tried but not preferred.
 */
export const defaultPrior: PriorSource = (_nodeId, _model, _taskType, hint) => estimatePrior(hint);

/** Observations after which an entry stops leaning on the prior. */
const fullConfidenceSamples = 10;
const recentWindow = 64;

/**
 * Per (node, model, task type) EWMAs of TTFT, tokens/s, total latency and success rate,
 * blended with a prior while there are few samples and as they age, and persisted to
 * `<dataDir>/learning.json` with atomic writes.
 */
export class LearningStore {
  readonly path: string;
  private readonly entries = new Map<string, Entry>();
  private readonly writer: SerialWriter;
  private readonly now: () => number;
  private readonly alpha: number;
  private readonly halfLifeMs: number;
  private readonly prior: PriorSource;
  private readonly saveDelayMs: number;
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LearningOptions) {
    this.path = join(options.dataDir, 'learning.json');
    this.writer = new SerialWriter(this.path);
    this.now = options.now ?? Date.now;
    this.alpha = options.alpha ?? 0.2;
    this.halfLifeMs = options.halfLifeMs ?? 30 * 60_000;
    this.prior = options.prior ?? defaultPrior;
    this.saveDelayMs = options.saveDelayMs ?? 2000;
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new Error(`invalid alpha ${this.alpha}: must be in (0, 1]`);
    if (!(this.halfLifeMs > 0)) throw new Error(`invalid halfLifeMs ${this.halfLifeMs}: must be positive`);
  }

  /** Loads saved statistics. A missing file starts empty; an invalid one is logged and ignored. */
  async load(): Promise<void> {
    const result = await readJson(this.path, fileSchema);
    if (result.kind === 'missing') return;
    if (result.kind === 'invalid') {
      this.options.log.warn({ path: this.path, reason: result.message }, 'Ignoring invalid learning file');
      return;
    }
    this.entries.clear();
    let merged = 0;
    for (const [savedKey, saved] of Object.entries(result.value.entries)) {
      const parts = splitKey(savedKey);
      if (!parts) {
        this.options.log.warn({ path: this.path, key: savedKey }, 'Ignoring learned entry with an invalid key');
        continue;
      }
      const entry: Entry = { ...saved, displayName: saved.displayName ?? displayNameOf(parts.model) };
      const key = keyOf(parts.nodeId, parts.model, parts.taskType);
      const existing = this.entries.get(key);
      if (existing) merged++;
      this.entries.set(key, existing ? mergeEntries(existing, entry) : entry);
    }
    this.options.log.info({ path: this.path, entries: this.entries.size, merged }, 'Loaded learned statistics');
  }

  record(observation: Observation): void {
    const key = keyOf(observation.nodeId, observation.model, observation.taskType);
    const existing = this.entries.get(key);
    const entry: Entry = existing ?? {
      ...this.prior(observation.nodeId, observation.model, observation.taskType),
      samples: 0,
      updatedAt: this.now(),
      recentTtftMs: [],
      displayName: displayNameOf(observation.model),
    };
    const first = entry.samples === 0;
    const step = (old: number, value: number | undefined) => {
      if (value === undefined || !Number.isFinite(value)) return old;
      return first ? value : ewma(old, value, this.alpha);
    };

    const success = observation.ok ? 1 : 0;
    entry.successRate = first ? success : ewma(entry.successRate, success, this.alpha);
    if (observation.ok) {
      entry.latencyMs = step(entry.latencyMs, observation.latencyMs);
      entry.ttftMs = step(entry.ttftMs, observation.ttftMs);
      entry.tokensPerSec = step(entry.tokensPerSec, observation.tokensPerSec);
      if (observation.ttftMs !== undefined && Number.isFinite(observation.ttftMs)) {
        entry.recentTtftMs.push(observation.ttftMs);
        if (entry.recentTtftMs.length > recentWindow) entry.recentTtftMs.shift();
      }
    }
    entry.samples++;
    entry.updatedAt = this.now();
    this.entries.set(key, entry);
  }

  /**
   * Returns the stats for (node, model, task type): the observed EWMAs weighted by
   * min(samples, 10) / 10 times 0.5^(age / halfLife) against the prior. Without an entry for the
   * task type it falls back to the same node and model under any task type, then to the prior.
   * `hint` (model size, GPU share) lets the prior fit the model; see `estimatePrior`.
   */
  get(nodeId: string, model: string, taskType: TaskType, hint?: PriorHint): LearnedStats {
    const prior = this.prior(nodeId, model, taskType, hint);
    const entry = this.entries.get(keyOf(nodeId, model, taskType)) ?? this.anyTaskEntry(nodeId, model);
    if (!entry) return prior;
    const age = Math.max(0, this.now() - entry.updatedAt);
    const weight = (Math.min(entry.samples, fullConfidenceSamples) / fullConfidenceSamples) * Math.pow(0.5, age / this.halfLifeMs);
    const blend = (observed: number, assumed: number) => weight * observed + (1 - weight) * assumed;
    return {
      ttftMs: blend(entry.ttftMs, prior.ttftMs),
      tokensPerSec: blend(entry.tokensPerSec, prior.tokensPerSec),
      latencyMs: blend(entry.latencyMs, prior.latencyMs),
      successRate: blend(entry.successRate, prior.successRate),
      samples: Math.round(entry.samples * Math.pow(0.5, age / this.halfLifeMs)),
    };
  }

  /** 95th percentile of recent TTFTs of a model on a node, or undefined below 5 samples. */
  p95TtftMs(nodeId: string, model: string): number | undefined {
    const prefix = keyPrefix(nodeId, model);
    const values = [...this.entries.entries()].filter(([key]) => key.startsWith(prefix)).flatMap(([, e]) => e.recentTtftMs);
    return values.length >= 5 ? percentile(values, 0.95) : undefined;
  }

  /**
   * Lists every stored (node, model, task type) with its raw EWMAs, for display. `model` is the
   * readable name (`llama3.2:latest`), one row per model however clients spelled its name.
   */
  list(): Array<{ nodeId: string; model: string; taskType: string } & LearnedStats> {
    return [...this.entries.entries()].map(([key, entry]) => {
      const { nodeId, model, taskType } = splitKey(key)!;
      const { ttftMs, tokensPerSec, latencyMs, successRate, samples } = entry;
      return { nodeId, model: entry.displayName ?? model, taskType, ttftMs, tokensPerSec, latencyMs, successRate, samples };
    });
  }

  size(): number {
    return this.entries.size;
  }

  /** Writes all statistics now. */
  async save(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await this.writer.write({ version: 1, entries: Object.fromEntries(this.entries) });
  }

  /** Schedules a save after `saveDelayMs`, coalescing bursts of observations into one write. */
  saveSoon(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save().catch((error: unknown) => this.options.log.error({ err: error, path: this.path }, 'Saving learned statistics failed'));
    }, this.saveDelayMs);
    this.saveTimer.unref();
  }

  private anyTaskEntry(nodeId: string, model: string): Entry | undefined {
    const prefix = keyPrefix(nodeId, model);
    let best: Entry | undefined;
    for (const [key, entry] of this.entries) {
      if (key.startsWith(prefix) && (!best || entry.samples > best.samples)) best = entry;
    }
    return best;
  }
}

/**
 * Returns the model part of a key: the canonical name (`registry.ollama.ai/library/llama3.2:latest`),
 * so `llama3.2`, `llama3.2:latest` and `LLAMA3.2` share one entry. A name Ollama would reject
 * is kept lower-cased, so it still gets its own entry.
 */
function modelKey(model: string): string {
  return canonicalModelName(model) ?? model.trim().toLowerCase();
}

function keyPrefix(nodeId: string, model: string): string {
  return `${nodeId}|${modelKey(model)}|`;
}

function keyOf(nodeId: string, model: string, taskType: string): string {
  return `${keyPrefix(nodeId, model)}${taskType}`;
}

/**
 * Splits `node|model|task` into its parts. Node ids and model names never contain `|`, but a key
 * written by hand might, so the node id is the first part and the task type the last.
 */
function splitKey(key: string): { nodeId: string; model: string; taskType: string } | undefined {
  const first = key.indexOf('|');
  const last = key.lastIndexOf('|');
  if (first <= 0 || last <= first + 1 || last === key.length - 1) return undefined;
  return { nodeId: key.slice(0, first), model: key.slice(first + 1, last), taskType: key.slice(last + 1) };
}

/** Formats a model name the way `ollama list` shows it, e.g. `llama3.2:latest` for `llama3.2`. */
function displayNameOf(model: string): string {
  const parsed = parseModelName(model);
  return parsed ? displayModelName(parsed) : model.trim();
}

/**
 * Merges two entries saved under names that now share one canonical key (files written before
 * keys were canonical): each average is weighted by its samples, and the newer display name wins.
 */
function mergeEntries(a: Entry, b: Entry): Entry {
  const total = a.samples + b.samples;
  const share = total > 0 ? b.samples / total : 0.5;
  const mix = (x: number, y: number) => x * (1 - share) + y * share;
  const newer = b.updatedAt >= a.updatedAt ? b : a;
  return {
    ttftMs: mix(a.ttftMs, b.ttftMs),
    tokensPerSec: mix(a.tokensPerSec, b.tokensPerSec),
    latencyMs: mix(a.latencyMs, b.latencyMs),
    successRate: mix(a.successRate, b.successRate),
    samples: total,
    updatedAt: Math.max(a.updatedAt, b.updatedAt),
    recentTtftMs: [...a.recentTtftMs, ...b.recentTtftMs].slice(-recentWindow),
    ...(newer.displayName !== undefined ? { displayName: newer.displayName } : {}),
  };
}
