import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../core/logger';
import { readJson, SerialWriter } from '../core/json-store';
import type { TaskType } from '../analysis/task-type';
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

export type PriorSource = (nodeId: string, model: string, taskType: TaskType) => LearnedStats;

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
});
type Entry = z.output<typeof entrySchema>;

const fileSchema = z.object({ version: z.literal(1), entries: z.record(z.string(), entrySchema) });

/** Prior for a node with no history: a middling node, so it gets tried but not preferred. */
export const defaultPrior: PriorSource = () => ({ ttftMs: 1500, tokensPerSec: 15, latencyMs: 6000, successRate: 1, samples: 0 });

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
    for (const [key, entry] of Object.entries(result.value.entries)) this.entries.set(key, entry);
    this.options.log.info({ path: this.path, entries: this.entries.size }, 'Loaded learned statistics');
  }

  record(observation: Observation): void {
    const key = keyOf(observation.nodeId, observation.model, observation.taskType);
    const existing = this.entries.get(key);
    const entry: Entry = existing ?? {
      ...this.prior(observation.nodeId, observation.model, observation.taskType),
      samples: 0,
      updatedAt: this.now(),
      recentTtftMs: [],
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
   */
  get(nodeId: string, model: string, taskType: TaskType): LearnedStats {
    const prior = this.prior(nodeId, model, taskType);
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
    const values = [...this.entries.entries()].filter(([key]) => key.startsWith(`${nodeId}|${model}|`)).flatMap(([, e]) => e.recentTtftMs);
    return values.length >= 5 ? percentile(values, 0.95) : undefined;
  }

  /** Lists every stored (node, model, task type) with its raw EWMAs, for display. */
  list(): Array<{ nodeId: string; model: string; taskType: string } & LearnedStats> {
    return [...this.entries.entries()].map(([key, entry]) => {
      const [nodeId, model, taskType] = key.split('|');
      const { ttftMs, tokensPerSec, latencyMs, successRate, samples } = entry;
      return { nodeId, model, taskType, ttftMs, tokensPerSec, latencyMs, successRate, samples };
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
    let best: Entry | undefined;
    for (const [key, entry] of this.entries) {
      if (key.startsWith(`${nodeId}|${model}|`) && (!best || entry.samples > best.samples)) best = entry;
    }
    return best;
  }
}

function keyOf(nodeId: string, model: string, taskType: TaskType): string {
  return `${nodeId}|${model}|${taskType}`;
}
