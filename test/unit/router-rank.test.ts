import { describe, expect, it } from 'vitest';
import { EventBus } from '../../electron/control/core/event-bus';
import { createSilentLogger } from '../../electron/control/core/logger';
import type { NodeSnapshot } from '../../electron/control/nodes/registry';
import { Router } from '../../electron/control/router/router';
import { rankCandidates, type CandidateSnapshot } from '../../electron/control/router/score';
import type { LoadedModel, RouteDecision } from '../../shared/types';

const model = (name: string) => ({ name, digest: `sha-${name}`, sizeBytes: 1 });
const loaded = (name: string, contextLength?: number, sizeVramBytes = 0): LoadedModel => ({
  name,
  digest: `sha-${name}`,
  sizeBytes: 100,
  sizeVramBytes,
  placement: sizeVramBytes === 0 ? 'cpu' : sizeVramBytes >= 100 ? 'gpu' : 'partial',
  contextLength,
});

function node(id: string, fields: Partial<CandidateSnapshot> = {}): CandidateSnapshot {
  return { id, name: id, health: 'up', models: [model('llama3.2:latest')], loaded: [], inFlight: 0, ...fields };
}

type Case = [string, CandidateSnapshot[], { model: string; options?: Record<string, unknown> }, string | null];

const cases: Case[] = [
  ['a node with the model loaded beats an idle one without it', [node('a'), node('b', { loaded: [loaded('llama3.2:latest')], inFlight: 1 })], { model: 'llama3.2' }, 'b'],
  ['fewer requests in flight wins between two loaded nodes', [node('a', { loaded: [loaded('llama3.2:latest')], inFlight: 2 }), node('b', { loaded: [loaded('llama3.2:latest')], inFlight: 1 })], { model: 'llama3.2' }, 'b'],
  ['lower EWMA latency breaks a tie in flight', [node('a', { ewmaLatencyMs: 300 }), node('b', { ewmaLatencyMs: 120 })], { model: 'llama3.2' }, 'b'],
  ['a node without latency figures is tried before a slow one', [node('a', { ewmaLatencyMs: 300 }), node('b')], { model: 'llama3.2' }, 'b'],
  ['a loaded copy with the requested num_ctx beats one that must reload', [node('a', { loaded: [loaded('llama3.2:latest', 2048)] }), node('b', { loaded: [loaded('llama3.2:latest', 8192)] })], { model: 'llama3.2', options: { num_ctx: 8192 } }, 'b'],
  ['num_gpu 0 prefers the copy that sits on the CPU', [node('a', { loaded: [loaded('llama3.2:latest', undefined, 100)] }), node('b', { loaded: [loaded('llama3.2:latest', undefined, 0)] })], { model: 'llama3.2', options: { num_gpu: 0 } }, 'b'],
  ['an up node beats a degraded one at equal load', [node('a', { health: 'degraded' }), node('b')], { model: 'llama3.2' }, 'b'],
  ['a down node is never picked', [node('a', { health: 'down' }), node('b', { models: [] })], { model: 'llama3.2' }, null],
  ['a node that lacks the model is never picked', [node('a', { models: [model('qwen:1b')] }), node('b')], { model: 'llama3.2' }, 'b'],
  ['names match the way Ollama compares them', [node('a')], { model: 'registry.ollama.ai/library/Llama3.2:latest' }, 'a'],
  ['another tag is another model', [node('a')], { model: 'llama3.2:1b' }, null],
  ['equal nodes rank by id so the choice is stable', [node('b'), node('a')], { model: 'llama3.2' }, 'a'],
];

describe('rankCandidates', () => {
  it.each(cases)('%s', (_name, nodes, request, expected) => {
    const ranking = rankCandidates(nodes, request, new Set());
    expect(ranking.ranked[0]?.id ?? null).toBe(expected);
  });

  it('skips excluded nodes and reports them as unavailable', () => {
    const ranking = rankCandidates([node('a'), node('b')], { model: 'llama3.2' }, new Set(['a']));
    expect(ranking.ranked.map((c) => c.id)).toEqual(['b']);
    expect(ranking.unavailable).toEqual([{ id: 'a', name: 'a', reason: 'already tried for this request' }]);
  });

  it('writes a reason with load, in-flight count and latency', () => {
    const ranking = rankCandidates([node('a', { loaded: [loaded('llama3.2:latest')], ewmaLatencyMs: 180.4 })], { model: 'llama3.2' }, new Set());
    expect(ranking.ranked[0].reason).toBe('loaded; 0 in flight; ewma 180ms');
  });
});

describe('Router', () => {
  function setup(nodes: NodeSnapshot[]) {
    const bus = new EventBus();
    const events: RouteDecision[] = [];
    bus.on('route:decision', (decision) => events.push({ ...decision }));
    const router = new Router({ nodes: () => nodes, bus, log: createSilentLogger() });
    return { router, events };
  }
  const snapshot = (id: string, fields: Partial<NodeSnapshot> = {}): NodeSnapshot => ({
    id,
    name: id,
    url: `http://127.0.0.1:1/${id}`,
    kind: 'ollama',
    health: 'up',
    models: [model('llama3.2:latest')],
    loaded: [],
    ...fields,
  });

  it('counts a request in flight until its lease finishes', () => {
    const { router } = setup([snapshot('a'), snapshot('b')]);
    const first = router.route({ endpoint: 'chat', model: 'llama3.2' });
    expect(first.kind).toBe('routed');
    if (first.kind !== 'routed') return;
    expect(first.lease.node.id).toBe('a');
    expect(router.traffic('a').inFlight).toBe(1);

    const second = router.route({ endpoint: 'chat', model: 'llama3.2' });
    expect(second.kind === 'routed' && second.lease.node.id).toBe('b');

    first.lease.finish({ ok: true, latencyMs: 40 });
    first.lease.finish({ ok: true, latencyMs: 40 });
    expect(router.traffic('a')).toEqual({ inFlight: 0, ewmaLatencyMs: 40 });
  });

  it('answers not_found for a model no node holds, with Ollama message', () => {
    const { router } = setup([snapshot('a')]);
    expect(router.route({ endpoint: 'chat', model: 'mystery' })).toEqual({ kind: 'not_found', message: "model 'mystery' not found" });
  });

  it('answers unavailable when the only holder is down', () => {
    const { router } = setup([snapshot('a', { health: 'down' })]);
    const outcome = router.route({ endpoint: 'chat', model: 'llama3.2' });
    expect(outcome.kind).toBe('unavailable');
    if (outcome.kind === 'unavailable') expect(outcome.message).toContain('a: node is down');
  });

  it('records decisions with alternatives and emits them with the outcome', () => {
    const { router, events } = setup([snapshot('a'), snapshot('b', { models: [] })]);
    const outcome = router.route({ endpoint: 'generate', model: 'llama3.2', priority: 8 });
    if (outcome.kind !== 'routed') throw new Error('expected a route');
    outcome.lease.finish({ ok: true, latencyMs: 12.6, ttftMs: 3.2, status: 200 });

    const [decision] = router.decisions(10);
    expect(decision.nodeId).toBe('a');
    expect(decision.alternatives).toEqual([{ nodeId: 'b', nodeName: 'b', reason: 'does not hold the model' }]);
    expect(decision.factors.priority).toBe(8);
    expect(events.map((e) => e.outcome)).toEqual([undefined, 'ok']);
    expect(events[1]).toMatchObject({ latencyMs: 13, ttftMs: 3, status: 200 });
  });

  it('reports p50 and p95 latency per node', () => {
    const { router } = setup([snapshot('a')]);
    for (let ms = 1; ms <= 100; ms++) {
      const outcome = router.route({ endpoint: 'chat', model: 'llama3.2' });
      if (outcome.kind === 'routed') outcome.lease.finish({ ok: true, latencyMs: ms });
    }
    const figures = router.figures();
    expect(figures.totalRequests).toBe(100);
    expect(figures.nodes[0]).toMatchObject({ requests: 100, errors: 0, p50LatencyMs: 50, p95LatencyMs: 95, inFlight: 0 });
  });

  it('keeps only the newest decisions in the ring buffer', () => {
    const bus = new EventBus();
    const router = new Router({ nodes: () => [snapshot('a')], bus, log: createSilentLogger(), decisionCapacity: 3 });
    for (let i = 0; i < 5; i++) router.route({ endpoint: 'chat', model: `m${i}` });
    expect(router.decisions(10).map((d) => d.model)).toEqual(['m4', 'm3', 'm2']);
  });
});
