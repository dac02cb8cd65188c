import { Histogram } from './histogram';
import type { Labels } from './prometheus';

/** Distinct label sets kept per metric; further ones are folded into `model="other"`. */
export const MAX_LABEL_SETS = 5_000;

/**
 * Counters and histograms keyed by label set. Model names come from client requests, so the
 * number of label sets is capped to keep a client from growing memory without bound.
 */
export class LabeledValues<T> {
  private readonly entries = new Map<string, { labels: Labels; value: T }>();

  constructor(private readonly create: () => T) {}

  get(labels: Labels): T {
    let key = keyOf(labels);
    let entry = this.entries.get(key);
    if (!entry && this.entries.size >= MAX_LABEL_SETS && 'model' in labels) {
      labels = { ...labels, model: 'other' };
      key = keyOf(labels);
      entry = this.entries.get(key);
    }
    if (!entry) {
      entry = { labels, value: this.create() };
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  list(): Array<{ labels: Labels; value: T }> {
    return [...this.entries.values()];
  }
}

/**
 * Builds a map key for a label set that ignores key order. A client can send a model name that
 * contains the two separator characters, which at worst merges two label sets' counts.
 */
function keyOf(labels: Labels): string {
  let key = '';
  for (const name of Object.keys(labels).sort()) key += `${name}\u0001${labels[name]}\u0000`;
  return key;
}

export class CounterSet {
  private readonly values = new LabeledValues(() => ({ n: 0 }));

  add(labels: Labels, amount = 1): void {
    this.values.get(labels).n += amount;
  }

  samples(): Array<{ labels: Labels; value: number }> {
    return this.values.list().map(({ labels, value }) => ({ labels, value: value.n }));
  }
}

export class HistogramSet {
  private readonly values = new LabeledValues(() => new Histogram());

  observe(labels: Labels, value: number): void {
    this.values.get(labels).observe(value);
  }

  samples(): Array<{ labels: Labels; histogram: Histogram }> {
    return this.values.list().map(({ labels, value }) => ({ labels, histogram: value }));
  }
}
