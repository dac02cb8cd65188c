import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetricsTick } from '../../shared/api/metrics';
import type { RouteDecision } from '../../shared/types';
import { ApiRegistry } from '../../electron/control/core/api-registry';
import { EventBus } from '../../electron/control/core/event-bus';
import { createSilentLogger } from '../../electron/control/core/logger';
import { createMetrics, registerMetricsApi, type Metrics } from '../../electron/control/metrics';
import { escapeLabelValue } from '../../electron/control/metrics/prometheus';
import { createLogLineStream, toLogLine } from '../../electron/control/metrics/log-lines';
import { downsample, TimeBins } from '../../electron/control/metrics/time-bins';

type Sample = { name: string; labels: Record<string, string>; value: number };
type Parsed = { help: Map<string, string>; types: Map<string, string>; samples: Sample[] };

/** Parses the Prometheus text format back, failing on any line that does not fit it. */
function parsePrometheus(text: string): Parsed {
  const help = new Map<string, string>();
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? help : types).set(meta[2], meta[3]);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`line does not parse: ${line}`);
    const labels: Record<string, string> = {};
    const labelText = sample[3] ?? '';
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
    let consumed = 0;
    for (const match of labelText.matchAll(labelPattern)) {
      labels[match[1]] = match[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      consumed = match.index! + match[0].length;
    }
    if (consumed !== labelText.length) throw new Error(`labels do not parse: ${line}`);
    const value = sample[4] === '+Inf' ? Infinity : Number(sample[4]);
    if (Number.isNaN(value)) throw new Error(`value does not parse: ${line}`);
    samples.push({ name: sample[1], labels, value });
  }
  return { help, types, samples };
}

function find(parsed: Parsed, name: string, labels: Record<string, string>): Sample | undefined {
  return parsed.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

let clock = Date.UTC(2026, 0, 1, 12, 0, 0);
const now = () => clock;
let counter = 0;

function decision(overrides: Partial<RouteDecision> & Record<string, unknown> = {}): RouteDecision {
  counter += 1;
  return {
    id: `d${counter}`,
    at: new Date(clock).toISOString(),
    endpoint: '/api/chat',
    model: 'llama3.2:latest',
    nodeId: 'n1',
    nodeName: 'alpha',
    strategy: 'intelligent',
    reason: 'fastest',
    factors: {},
    alternatives: [],
    attempt: 1,
    outcome: 'ok',
    latencyMs: 400,
    ttftMs: 100,
    status: 200,
    ...overrides,
  } as RouteDecision;
}

let bus: EventBus;
let metrics: Metrics;
let dataDir: string;

beforeEach(async () => {
  clock = Date.UTC(2026, 0, 1, 12, 0, 0);
  bus = new EventBus();
  dataDir = await mkdtemp(join(tmpdir(), 'synaptic-metrics-'));
  metrics = createMetrics({ bus, log: createSilentLogger(), dataDir, now, tickMs: 60_000, saveMs: 60_000 });
  await metrics.start();
});

afterEach(async () => {
  await metrics.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('metrics prometheus text', () => {
  it('counts finished requests once per decision', () => {
    const routed = decision({ outcome: undefined, latencyMs: undefined, ttftMs: undefined, status: undefined });
    bus.emit('route:decision', routed);
    bus.emit('route:decision', { ...routed, outcome: 'ok', latencyMs: 300, status: 200 });
    bus.emit('route:decision', { ...routed, outcome: 'ok', latencyMs: 300, status: 200 });
    const parsed = parsePrometheus(metrics.renderPrometheus());
    const sample = find(parsed, 'synaptic_requests_total', { node: 'n1', model: 'llama3.2:latest', endpoint: '/api/chat', status: '200' });
    expect(sample?.value).toBe(1);
  });

  it('writes HELP and TYPE for every family', () => {
    bus.emit('route:decision', decision());
    const parsed = parsePrometheus(metrics.renderPrometheus());
    const expected: Record<string, string> = {
      synaptic_requests_total: 'counter',
      synaptic_request_duration_seconds: 'histogram',
      synaptic_time_to_first_token_seconds: 'histogram',
      synaptic_tokens_total: 'counter',
      synaptic_hedges_total: 'counter',
      synaptic_breaker_state: 'gauge',
      synaptic_node_up: 'gauge',
      synaptic_model_vram_bytes: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) {
      expect(parsed.types.get(name), name).toBe(type);
      expect(parsed.help.get(name)?.length, name).toBeGreaterThan(10);
    }
  });

  it('renders cumulative histogram buckets, sum and count', () => {
    bus.emit('route:decision', decision({ latencyMs: 80 }));
    bus.emit('route:decision', decision({ latencyMs: 700 }));
    bus.emit('route:decision', decision({ latencyMs: 200_000 }));
    const parsed = parsePrometheus(metrics.renderPrometheus());
    const labels = { node: 'n1', model: 'llama3.2:latest' };
    const bucket = (le: string) => find(parsed, 'synaptic_request_duration_seconds_bucket', { ...labels, le })?.value;
    expect(bucket('0.05')).toBe(0);
    expect(bucket('0.1')).toBe(1);
    expect(bucket('1')).toBe(2);
    expect(bucket('120')).toBe(2);
    expect(bucket('+Inf')).toBe(3);
    expect(find(parsed, 'synaptic_request_duration_seconds_count', labels)?.value).toBe(3);
    expect(find(parsed, 'synaptic_request_duration_seconds_sum', labels)?.value).toBeCloseTo(200.78, 5);
    const buckets = parsed.samples.filter((s) => s.name === 'synaptic_request_duration_seconds_bucket').map((s) => s.value);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]);
  });

  it('escapes quotes, backslashes and newlines in label values', () => {
    const model = 'evil"model\\with\nnewline';
    bus.emit('route:decision', decision({ model }));
    const text = metrics.renderPrometheus();
    expect(text).toContain(escapeLabelValue(model));
    const parsed = parsePrometheus(text);
    expect(find(parsed, 'synaptic_requests_total', { model })?.value).toBe(1);
  });

  it('reports node up, model VRAM, tokens, hedges and breaker state', () => {
    bus.emit('node:state', {
      id: 'n1', url: 'http://127.0.0.1:1', name: 'alpha', kind: 'ollama', health: 'up', consecutiveFailures: 0, models: [], inFlight: 0, problems: [],
      loaded: [{ name: 'llama3.2:latest', digest: 'x', sizeBytes: 3e9, sizeVramBytes: 2e9, placement: 'partial' }],
    });
    bus.emit('node:state', { id: 'n2', url: 'http://127.0.0.1:2', name: 'beta', kind: 'ollama', health: 'down', consecutiveFailures: 3, models: [], loaded: [], inFlight: 0, problems: [] });
    bus.emit('route:decision', decision({ evalCount: 42 } as Partial<RouteDecision>));
    bus.emit('hedge:stats', { requests: 10, sent: 1, won: 1, cancelled: 1, skippedByBudget: 0 });
    bus.emit('breaker:state', { nodeId: 'n2', from: 'closed', to: 'open', reason: 'errors', at: new Date(clock).toISOString() });
    const parsed = parsePrometheus(metrics.renderPrometheus());
    expect(find(parsed, 'synaptic_node_up', { node: 'n1' })?.value).toBe(1);
    expect(find(parsed, 'synaptic_node_up', { node: 'n2' })?.value).toBe(0);
    expect(find(parsed, 'synaptic_model_vram_bytes', { node: 'n1', model: 'llama3.2:latest' })?.value).toBe(2e9);
    expect(find(parsed, 'synaptic_tokens_total', { node: 'n1' })?.value).toBe(42);
    expect(find(parsed, 'synaptic_hedges_total', { result: 'won' })?.value).toBe(1);
    expect(find(parsed, 'synaptic_hedges_total', { result: 'sent' })?.value).toBe(1);
    expect(find(parsed, 'synaptic_breaker_state', { node: 'n2', state: 'open' })?.value).toBe(1);
    expect(find(parsed, 'synaptic_breaker_state', { node: 'n2', state: 'closed' })?.value).toBe(0);
  });

  it('skips invalid events without throwing', () => {
    expect(() => bus.emit('route:decision', { id: 3 } as unknown as RouteDecision)).not.toThrow();
    expect(() => metrics.onEvent('node:state', null)).not.toThrow();
    expect(parsePrometheus(metrics.renderPrometheus()).samples.filter((s) => s.name === 'synaptic_requests_total')).toHaveLength(0);
  });
});

describe('metrics time series', () => {
  it('computes percentiles per bin', () => {
    for (let i = 1; i <= 100; i++) bus.emit('route:decision', decision({ latencyMs: i * 10, at: new Date(clock - i * 10).toISOString() }));
    clock += 10_000;
    const [node] = metrics.series(60).nodes;
    const total = node.points.reduce((n, p) => n + p.requests, 0);
    expect(total).toBe(100);
    const point = node.points.find((p) => p.requests === 100)!;
    expect(point.p50Ms).toBe(500);
    expect(point.p95Ms).toBe(950);
    expect(point.p99Ms).toBe(990);
    expect(point.ttftP50Ms).toBe(100);
  });

  it('drops bins older than the window', () => {
    const bins = new TimeBins(5_000, 60_000);
    bins.record({ at: clock, ok: true, latencyMs: 5 });
    expect(bins.points(0, clock)).toHaveLength(1);
    expect(bins.points(0, clock + 120_000)).toHaveLength(0);
  });

  it('counts errors and tokens per second', () => {
    bus.emit('route:decision', decision({ outcome: 'error', status: 502 }));
    bus.emit('route:decision', decision({ latencyMs: 2000, evalCount: 100, evalDurationNs: 1e9 } as Partial<RouteDecision>));
    const point = metrics.series(60).nodes[0].points.at(-1)!;
    expect(point.errors).toBe(1);
    expect(point.requests).toBe(2);
    expect(point.tokensPerSec).toBe(100);
  });

  it('batches changes into one tick', () => {
    const ticks: MetricsTick[] = [];
    bus.on('metrics:tick', (tick) => ticks.push(tick as MetricsTick));
    for (let i = 0; i < 50; i++) bus.emit('route:decision', decision({ nodeId: `n${i % 5}`, nodeName: `node ${i % 5}` }));
    const tick = metrics.takeTick();
    expect(tick?.updates).toHaveLength(5);
    expect(tick?.updates.reduce((n, u) => n + u.points.at(-1)!.requests, 0)).toBe(50);
    expect(metrics.takeTick()).toBeNull();
  });

  it('downsamples with summed counts and maximum p95', () => {
    const base = { spanMs: 5_000, errors: 0, p99Ms: null, ttftP50Ms: null, tokensPerSec: null, tokens: 0, hedgesWon: 0, hedgesCancelled: 0 };
    const merged = downsample(
      [
        { ...base, t: 0, requests: 1, p50Ms: 100, p95Ms: 100 },
        { ...base, t: 5_000, requests: 3, p50Ms: 200, p95Ms: 900 },
        { ...base, t: 15_000, requests: 2, p50Ms: 50, p95Ms: 60 },
      ],
      15_000,
    );
    expect(merged).toHaveLength(2);
    expect(merged[0].requests).toBe(4);
    expect(merged[0].p50Ms).toBe(175);
    expect(merged[0].p95Ms).toBe(900);
    expect(merged[1].t).toBe(15_000);
  });
});

describe('metrics hedges', () => {
  it('adds hedge counter changes to totals and bins', () => {
    bus.emit('hedge:stats', { requests: 5, sent: 2, won: 1, cancelled: 2, skippedByBudget: 0 });
    bus.emit('hedge:stats', { requests: 9, sent: 3, won: 2, cancelled: 3, skippedByBudget: 1 });
    expect(metrics.snapshot().hedges).toEqual({ sent: 3, won: 2, cancelled: 3, skipped: 1 });
    const tick = metrics.takeTick();
    expect(tick?.hedgePoints?.at(-1)?.hedgesWon).toBe(2);
    expect(tick?.hedgePoints?.at(-1)?.hedgesCancelled).toBe(3);
    expect(metrics.series(60).hedgePoints.at(-1)?.hedgesWon).toBe(2);
  });

  it('treats a lower counter as a restart', () => {
    bus.emit('hedge:stats', { requests: 5, sent: 4, won: 3, cancelled: 3, skippedByBudget: 0 });
    bus.emit('hedge:stats', { requests: 1, sent: 1, won: 1, cancelled: 1, skippedByBudget: 0 });
    expect(metrics.snapshot().hedges.won).toBe(4);
    expect(metrics.snapshot().hedges.sent).toBe(5);
  });
});

describe('metrics persistence', () => {
  it('restores series after a restart', async () => {
    bus.emit('route:decision', decision({ latencyMs: 300 }));
    clock += 20_000;
    await metrics.stop();
    const saved = JSON.parse(await readFile(join(dataDir, 'metrics.json'), 'utf8'));
    expect(saved.version).toBe(1);
    expect(saved.binMs).toBe(15_000);

    const restarted = createMetrics({ bus: new EventBus(), log: createSilentLogger(), dataDir, now, tickMs: 60_000 });
    await restarted.start();
    const [node] = restarted.series(900).nodes;
    expect(node.nodeName).toBe('alpha');
    expect(node.points.reduce((n, p) => n + p.requests, 0)).toBe(1);
    await restarted.stop();
  });

  it('ignores a corrupt metrics file', async () => {
    await writeFile(join(dataDir, 'metrics.json'), '{"version": 7');
    const restarted = createMetrics({ bus: new EventBus(), log: createSilentLogger(), dataDir, now });
    await restarted.start();
    expect(restarted.series(900).nodes).toHaveLength(0);
    await restarted.stop();
  });
});

function layerMap(device: string) {
  return {
    offloadedLayers: 8,
    totalLayers: 9,
    devices: [{ device, modelMiB: 3, kvMiB: 1, computeMiB: 2, layerRanges: [[0, 7]] as [number, number][] }],
    offloadedBytes: 3 * 1024 * 1024,
  };
}

describe('metrics layer maps', () => {
  it('keeps the latest map per model', () => {
    bus.emit('distributed:layers', { id: 'dist-1', layers: layerMap('CPU') });
    bus.emit('distributed:layers', { id: 'dist-1', layers: layerMap('RPC[127.0.0.1:50052]') });
    const layers = metrics.snapshot().layers;
    expect(Object.keys(layers)).toEqual(['dist-1']);
    expect(layers['dist-1'].devices[0].device).toBe('RPC[127.0.0.1:50052]');
  });

  it('drops the map of a removed model', () => {
    bus.emit('distributed:layers', { id: 'dist-1', layers: layerMap('CPU') });
    bus.emit('distributed:layers', { id: 'dist-2', layers: layerMap('CPU') });
    bus.emit('distributed:removed', { id: 'dist-1' });
    expect(Object.keys(metrics.snapshot().layers)).toEqual(['dist-2']);
  });

  it('ignores removal of an unknown or invalid id', () => {
    bus.emit('distributed:layers', { id: 'dist-1', layers: layerMap('CPU') });
    bus.emit('distributed:removed', { id: 'dist-9' });
    metrics.onEvent('distributed:removed', { id: 42 });
    metrics.onEvent('distributed:removed', null);
    expect(Object.keys(metrics.snapshot().layers)).toEqual(['dist-1']);
  });
});

describe('metrics api', () => {
  it('validates the series window', async () => {
    const api = new ApiRegistry(createSilentLogger());
    registerMetricsApi(api, metrics);
    const bad = await api.invoke('metrics:series', { windowSec: 100_000 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toContain('windowSec');
    const good = await api.invoke('metrics:series', undefined);
    expect(good.ok).toBe(true);
    const snapshot = await api.invoke('metrics:snapshot', {});
    expect(snapshot.ok).toBe(true);
  });
});

describe('metrics log lines', () => {
  it('converts pino JSON lines', () => {
    const line = toLogLine('{"level":40,"time":1700000000000,"component":"nodes","msg":"node alpha failed"}');
    expect(line).toEqual({ time: 1700000000000, level: 'warn', component: 'nodes', msg: 'node alpha failed' });
    expect(toLogLine('not json')).toBeNull();
    expect(toLogLine('{"level":30}')).toBeNull();
  });

  it('publishes lines split across writes', async () => {
    const lines: unknown[] = [];
    const logBus = new EventBus();
    logBus.on('log:line', (line) => lines.push(line));
    const forwarded: string[] = [];
    const sink = { write: (text: string) => forwarded.push(text) } as unknown as NodeJS.WritableStream;
    const stream = createLogLineStream(logBus, sink);
    await new Promise<void>((resolve) => stream.write('{"level":30,"msg":"first"}\n{"level":50,', () => resolve()));
    await new Promise<void>((resolve) => stream.write('"msg":"second"}\n', () => resolve()));
    expect(lines).toHaveLength(2);
    expect((lines[1] as { level: string }).level).toBe('error');
    expect(forwarded.join('')).toContain('"second"');
  });
});
