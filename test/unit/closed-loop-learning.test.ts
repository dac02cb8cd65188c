import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { analyzeRequest } from '../../electron/control/analysis/request-context';
import { NodeBreaker } from '../../electron/control/breaker/node-breaker';
import { classifyResult, type ClassifiableResult, type ResultKind } from '../../electron/control/breaker/result-kind';
import { createSilentLogger } from '../../electron/control/core/logger';
import { LearningStore } from '../../electron/control/learning/learning-store';
import { estimatePrior, maxPriorTokensPerSec, unknownSizePrior } from '../../electron/control/learning/prior';
import type { ScoringCandidate } from '../../electron/control/scoring/candidate';
import { coldLoadMs, estimateColdLoadMs, scoreCandidates } from '../../electron/control/scoring/intelligent';

const MB = 1024 * 1024;
const GB = 1024 * MB;

describe('classifyResult', () => {
  const table: Array<{ result: ClassifiableResult; kind: ResultKind }> = [
    { result: { ok: true, status: 200 }, kind: 'ok' },
    { result: { ok: false, cancelled: true, status: 200 }, kind: 'cancelled' },
    { result: { ok: false, status: 400, error: 'node returned 400: "m" does not support thinking' }, kind: 'client_error' },
    { result: { ok: false, status: 404 }, kind: 'client_error' },
    { result: { ok: false, status: 405 }, kind: 'client_error' },
    { result: { ok: false, status: 413 }, kind: 'client_error' },
    { result: { ok: false, status: 422 }, kind: 'client_error' },
    { result: { ok: false, status: 408 }, kind: 'other_failure' },
    { result: { ok: false, status: 401 }, kind: 'other_failure' },
    { result: { ok: false, status: 429 }, kind: 'node_failure' },
    { result: { ok: false, status: 503, error: 'node returned 503: busy' }, kind: 'node_failure' },
    { result: { ok: false }, kind: 'node_failure' },
    { result: { ok: false, status: 500, error: "node returned 500: failed to load model 'broken:latest': Invalid GGUF magic" }, kind: 'model_failure' },
    { result: { ok: false, status: 500, error: 'node returned 500: llama runner process has terminated: exit status 2' }, kind: 'model_failure' },
    { result: { ok: false, status: 500, error: 'node returned 500: unable to load model: /models/blobs/sha256-1' }, kind: 'model_failure' },
    { result: { ok: false, status: 500, error: 'node returned 500: model requires more system memory (9.1 GiB) than is available (4.0 GiB)' }, kind: 'model_failure' },
    { result: { ok: false, status: 500, error: 'node returned 500: out of memory' }, kind: 'node_failure' },
  ];
  for (const { result, kind } of table) {
    it(`${result.status ?? 'no status'} ${result.error ?? ''} is ${kind}`, () => {
      expect(classifyResult(result)).toBe(kind);
    });
  }
});

describe('NodeBreaker with model load failures', () => {
  const loadFailure = { ok: false, status: 500, error: "node returned 500: failed to load model 'broken:latest': Invalid GGUF magic", latencyMs: 20 };

  it('stays closed after many load failures', () => {
    const breaker = new NodeBreaker('n1', { now: () => 0 });
    for (let i = 0; i < 10; i++) breaker.record(loadFailure);
    expect(breaker.state()).toBe('closed');
    expect(breaker.admit()).toBe('allowed');
  });

  it('still opens on plain 500s', () => {
    const breaker = new NodeBreaker('n1', { now: () => 0 });
    for (let i = 0; i < 3; i++) breaker.record({ ok: false, status: 500, error: 'node returned 500: internal error', latencyMs: 20 });
    expect(breaker.state()).toBe('open');
  });

  it('does not count failed responses as slow', () => {
    const breaker = new NodeBreaker('n1', { now: () => 0 });
    for (let i = 0; i < 5; i++) breaker.record({ ...loadFailure, latencyMs: 10_000, expectedLatencyMs: 100 });
    expect(breaker.state()).toBe('closed');
  });
});

describe('estimatePrior', () => {
  it('returns the fixed prior without a size', () => {
    expect(estimatePrior()).toEqual(unknownSizePrior);
    expect(estimatePrior({ modelSizeBytes: 0 })).toEqual(unknownSizePrior);
    expect(estimatePrior({ modelSizeBytes: Number.NaN })).toEqual(unknownSizePrior);
  });

  it('expects a tiny CPU model to be fast', () => {
    const prior = estimatePrior({ modelSizeBytes: 5.4 * MB, gpuShare: 0 });
    expect(prior.tokensPerSec).toBe(maxPriorTokensPerSec);
    expect(prior.latencyMs).toBeLessThan(500);
    expect(prior.samples).toBe(0);
    expect(prior.successRate).toBe(1);
  });

  it('expects a 4 GB model to be faster on a GPU', () => {
    const cpu = estimatePrior({ modelSizeBytes: 4 * GB, gpuShare: 0 });
    const gpu = estimatePrior({ modelSizeBytes: 4 * GB, gpuShare: 1 });
    const split = estimatePrior({ modelSizeBytes: 4 * GB, gpuShare: 0.5 });
    expect(cpu.tokensPerSec).toBeGreaterThan(5);
    expect(cpu.tokensPerSec).toBeLessThan(15);
    expect(gpu.tokensPerSec).toBeGreaterThan(5 * cpu.tokensPerSec);
    expect(split.tokensPerSec).toBeGreaterThan(cpu.tokensPerSec);
    expect(split.tokensPerSec).toBeLessThan(gpu.tokensPerSec);
    expect(gpu.ttftMs).toBeLessThan(cpu.ttftMs);
  });

  it('estimates cold loads by size', () => {
    expect(estimateColdLoadMs(undefined)).toBe(coldLoadMs);
    expect(estimateColdLoadMs(5 * MB)).toBeLessThan(500);
    expect(estimateColdLoadMs(4 * GB)).toBeGreaterThan(estimateColdLoadMs(1 * GB));
  });
});

describe('scoring a newcomer', () => {
  const learned = { ttftMs: 60, tokensPerSec: 300, successRate: 1, latencyMs: 900, samples: 10 };
  const busy: ScoringCandidate = {
    nodeId: 'busy',
    nodeName: 'busy',
    healthy: true,
    hasModel: true,
    loaded: { placement: 'cpu', gpuShare: 0 },
    modelSizeBytes: 5.4 * MB,
    inFlight: 5,
    parallel: 1,
    stats: learned,
    breaker: 'closed',
  };
  const prior = estimatePrior({ modelSizeBytes: 5.4 * MB, gpuShare: 0 });
  const request = { priority: 5, prefersGpu: false, expectedOutputTokens: 256 };

  it('prefers an idle node with the model loaded', () => {
    const idle: ScoringCandidate = { ...busy, nodeId: 'idle', nodeName: 'idle', inFlight: 0, stats: prior };
    const [busyScore, idleScore] = scoreCandidates([busy, idle], request);
    expect(idleScore.score).toBeGreaterThan(busyScore.score);
  });

  it('prefers an idle cold node over five queued', () => {
    const cold: ScoringCandidate = { ...busy, nodeId: 'cold', nodeName: 'cold', inFlight: 0, loaded: null, stats: prior };
    const [busyScore, coldScore] = scoreCandidates([busy, cold], request);
    expect(coldScore.score).toBeGreaterThan(busyScore.score);
    expect(coldScore.reason).toMatch(/model not loaded, 0\/1 busy, ~\d+ ms expected \(prior\)/);
  });
});

describe('LearningStore model names', () => {
  let dataDir: string;
  const log = createSilentLogger();
  const now = () => 1_000_000;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'synaptic-learning-names-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps one entry per canonical name', () => {
    const store = new LearningStore({ dataDir, log, now });
    for (const model of ['llama-2-tiny-random', 'llama-2-tiny-random:latest', 'LLAMA-2-TINY-RANDOM']) {
      store.record({ nodeId: 'n1', model, taskType: 'chat', ok: true, latencyMs: 100, ttftMs: 10 });
    }
    const rows = store.list();
    expect(rows).toHaveLength(1);
    expect(rows[0].model).toBe('llama-2-tiny-random:latest');
    expect(rows[0].samples).toBe(3);
    expect(store.get('n1', 'Llama-2-Tiny-Random:latest', 'chat').samples).toBe(3);
  });

  it('reads p95 TTFT under any spelling', () => {
    const store = new LearningStore({ dataDir, log, now });
    for (let i = 0; i < 5; i++) store.record({ nodeId: 'n1', model: 'm', taskType: 'chat', ok: true, latencyMs: 100, ttftMs: 10 * (i + 1) });
    expect(store.p95TtftMs('n1', 'M:latest')).toBe(50);
  });

  it('merges old per-spelling entries on load', async () => {
    const entry = (samples: number, ttftMs: number, updatedAt: number) => ({
      ttftMs,
      tokensPerSec: 100,
      latencyMs: 1000,
      successRate: 1,
      samples,
      updatedAt,
      recentTtftMs: [ttftMs],
    });
    const saved = {
      version: 1,
      entries: {
        'n1|llama-2-tiny-random|chat': entry(1, 100, 5),
        'n1|llama-2-tiny-random:latest|chat': entry(3, 200, 6),
        'n1|TINY-LLAMA-8L|generation': entry(2, 50, 7),
        'broken-key': entry(1, 1, 1),
      },
    };
    await writeFile(join(dataDir, 'learning.json'), JSON.stringify(saved));
    const store = new LearningStore({ dataDir, log, now });
    await store.load();

    const rows = store.list().sort((a, b) => a.model.localeCompare(b.model));
    expect(rows.map((row) => [row.model, row.taskType, row.samples])).toEqual([
      ['llama-2-tiny-random:latest', 'chat', 4],
      ['TINY-LLAMA-8L:latest', 'generation', 2],
    ]);
    expect(rows[0].ttftMs).toBeCloseTo(175, 6);

    await store.save();
    const written = JSON.parse(await readFile(join(dataDir, 'learning.json'), 'utf8')) as { entries: Record<string, unknown> };
    expect(Object.keys(written.entries).sort()).toEqual([
      'n1|registry.ollama.ai/library/llama-2-tiny-random:latest|chat',
      'n1|registry.ollama.ai/library/tiny-llama-8l:latest|generation',
    ]);
  });
});

describe('show requests', () => {
  it('are classified as metadata', () => {
    const result = analyzeRequest({ path: '/api/show', body: { model: 'llama3.2' } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.context.taskType).toBe('metadata');
    expect(result.context.prefersGpu).toBe(false);
  });
});
