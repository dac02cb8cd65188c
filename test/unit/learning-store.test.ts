import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../electron/control/core/logger';
import { LearningStore, defaultPrior } from '../../electron/control/learning/learning-store';
import { percentile } from '../../electron/control/learning/statistics';

let dataDir: string;
let clock = 0;
const now = () => clock;
const log = createSilentLogger();

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'synaptic-learning-'));
  clock = 1_000_000;
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const observe = (store: LearningStore, ok: boolean, ttftMs = 100, tokensPerSec = 80) =>
  store.record({ nodeId: 'n1', model: 'llama3.2', taskType: 'chat', ok, latencyMs: 1000, ttftMs, tokensPerSec });

describe('LearningStore', () => {
  it('returns the prior for a node with no history', () => {
    const store = new LearningStore({ dataDir, log, now });
    expect(store.get('n1', 'llama3.2', 'chat')).toEqual(defaultPrior('n1', 'llama3.2', 'chat'));
  });

  it('leans on observations once there are ten', () => {
    const store = new LearningStore({ dataDir, log, now });
    for (let i = 0; i < 10; i++) observe(store, true);
    const stats = store.get('n1', 'llama3.2', 'chat');
    expect(stats.ttftMs).toBeCloseTo(100, 6);
    expect(stats.tokensPerSec).toBeCloseTo(80, 6);
    expect(stats.samples).toBe(10);
  });

  it('blends one observation with the prior', () => {
    const store = new LearningStore({ dataDir, log, now });
    observe(store, true, 100);
    const stats = store.get('n1', 'llama3.2', 'chat');
    expect(stats.ttftMs).toBeCloseTo(0.1 * 100 + 0.9 * 1500, 6);
  });

  it('lowers the success rate on failures', () => {
    const store = new LearningStore({ dataDir, log, now, alpha: 0.5 });
    for (let i = 0; i < 10; i++) observe(store, true);
    observe(store, false);
    observe(store, false);
    expect(store.get('n1', 'llama3.2', 'chat').successRate).toBeCloseTo(0.25, 6);
  });

  it('decays toward the prior as time passes', () => {
    const store = new LearningStore({ dataDir, log, now, halfLifeMs: 60_000 });
    for (let i = 0; i < 10; i++) observe(store, true, 100);
    clock += 60_000;
    expect(store.get('n1', 'llama3.2', 'chat').ttftMs).toBeCloseTo(0.5 * 100 + 0.5 * 1500, 6);
    clock += 10 * 60_000;
    expect(store.get('n1', 'llama3.2', 'chat').ttftMs).toBeGreaterThan(1495);
  });

  it('falls back to another task type of the same node and model', () => {
    const store = new LearningStore({ dataDir, log, now });
    for (let i = 0; i < 10; i++) observe(store, true, 100);
    expect(store.get('n1', 'llama3.2', 'code').ttftMs).toBeCloseTo(100, 6);
    expect(store.get('n2', 'llama3.2', 'code').ttftMs).toBe(1500);
  });

  it('survives a restart', async () => {
    const first = new LearningStore({ dataDir, log, now });
    for (let i = 0; i < 12; i++) observe(first, true, 100 + i);
    await first.save();
    const before = first.get('n1', 'llama3.2', 'chat');

    const second = new LearningStore({ dataDir, log, now });
    await second.load();
    expect(second.get('n1', 'llama3.2', 'chat')).toEqual(before);
    expect(second.p95TtftMs('n1', 'llama3.2')).toBe(first.p95TtftMs('n1', 'llama3.2'));
    const text = await readFile(join(dataDir, 'learning.json'), 'utf8');
    expect(JSON.parse(text).version).toBe(1);
  });

  it('ignores a corrupted file and starts empty', async () => {
    await writeFile(join(dataDir, 'learning.json'), '{"version": 1, "entries": {"x": {"ttftMs": -1}}}');
    const store = new LearningStore({ dataDir, log, now });
    await store.load();
    expect(store.size()).toBe(0);
  });

  it('computes p95 TTFT from recent samples', () => {
    const store = new LearningStore({ dataDir, log, now });
    for (let i = 1; i <= 4; i++) observe(store, true, i * 10);
    expect(store.p95TtftMs('n1', 'llama3.2')).toBeUndefined();
    for (let i = 5; i <= 20; i++) observe(store, true, i * 10);
    expect(store.p95TtftMs('n1', 'llama3.2')).toBe(190);
  });

  it('rejects an invalid alpha', () => {
    expect(() => new LearningStore({ dataDir, log, alpha: 0 })).toThrow('invalid alpha 0');
  });
});

describe('percentile', () => {
  it('uses the nearest rank', () => {
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(percentile([1, 2, 3, 4], 1)).toBe(4);
    expect(Number.isNaN(percentile([], 0.5))).toBe(true);
  });
});
