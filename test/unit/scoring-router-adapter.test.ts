import { describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../electron/control/core/logger';
import { EventBus } from '../../electron/control/core/event-bus';
import { Router } from '../../electron/control/router/router';
import type { NodeSnapshot } from '../../electron/control/nodes/registry';
import { BreakerBoard } from '../../electron/control/breaker/breaker-board';
import { createClosedLoopRank } from '../../electron/control/scoring/router-adapter';

const model = { name: 'llama3.2:latest', digest: 'd', sizeBytes: 3e9 };
const snapshot = (id: string, placement: 'gpu' | 'cpu' | null, health: NodeSnapshot['health'] = 'up'): NodeSnapshot => ({
  id,
  name: id,
  url: `http://127.0.0.1:1/${id}`,
  kind: 'ollama',
  health,
  models: [model],
  loaded: placement ? [{ name: 'llama3.2:latest', digest: 'd', sizeBytes: 3e9, sizeVramBytes: placement === 'gpu' ? 3e9 : 0, placement }] : [],
});

describe('closed-loop rank in router v1', () => {
  it('prefers the GPU copy over the CPU copy', () => {
    const nodes = [snapshot('a-cpu', 'cpu'), snapshot('b-gpu', 'gpu')];
    const router = new Router({ nodes: () => nodes, bus: new EventBus(), log: createSilentLogger(), rank: createClosedLoopRank({ strategy: () => 'intelligent' }) });
    const outcome = router.route({ endpoint: 'chat', model: 'llama3.2' });
    expect(outcome.kind).toBe('routed');
    if (outcome.kind !== 'routed') return;
    expect(outcome.lease.node.id).toBe('b-gpu');
    expect(outcome.lease.decision.reason).toMatch(/^score [\d.]+: loaded on gpu/);
    outcome.lease.finish({ ok: true, latencyMs: 10 });
  });

  it('skips a node whose breaker is open and reports why', () => {
    const breakers = new BreakerBoard({ log: createSilentLogger() });
    for (let i = 0; i < 3; i++) breakers.get('b-gpu').record({ ok: false, status: 503, latencyMs: 5 });
    const nodes = [snapshot('a-cpu', 'cpu'), snapshot('b-gpu', 'gpu')];
    const router = new Router({ nodes: () => nodes, bus: new EventBus(), log: createSilentLogger(), rank: createClosedLoopRank({ strategy: () => 'intelligent', breakers }) });
    const outcome = router.route({ endpoint: 'chat', model: 'llama3.2' });
    expect(outcome.kind === 'routed' && outcome.lease.node.id).toBe('a-cpu');
    expect(outcome.kind === 'routed' && outcome.lease.decision.alternatives).toContainEqual({ nodeId: 'b-gpu', nodeName: 'b-gpu', reason: 'breaker open' });
  });

  it('returns not found when no node holds the model', () => {
    const router = new Router({ nodes: () => [snapshot('a', 'gpu')], bus: new EventBus(), log: createSilentLogger(), rank: createClosedLoopRank({ strategy: () => 'intelligent' }) });
    expect(router.route({ endpoint: 'chat', model: 'other' }).kind).toBe('not_found');
  });

  it('honours the exclude list from retries', () => {
    const nodes = [snapshot('a-cpu', 'cpu'), snapshot('b-gpu', 'gpu')];
    const router = new Router({ nodes: () => nodes, bus: new EventBus(), log: createSilentLogger(), rank: createClosedLoopRank({ strategy: () => 'intelligent' }) });
    const outcome = router.route({ endpoint: 'chat', model: 'llama3.2', exclude: ['b-gpu'] });
    expect(outcome.kind === 'routed' && outcome.lease.node.id).toBe('a-cpu');
  });

  it('reports a down node as unavailable', () => {
    const router = new Router({ nodes: () => [snapshot('a', 'gpu', 'down')], bus: new EventBus(), log: createSilentLogger(), rank: createClosedLoopRank({ strategy: () => 'intelligent' }) });
    expect(router.route({ endpoint: 'chat', model: 'llama3.2' }).kind).toBe('unavailable');
  });
});
