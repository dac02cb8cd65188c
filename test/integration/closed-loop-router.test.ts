import { describe, expect, it } from 'vitest';
import { EventBus } from '../../electron/control/core/event-bus';
import { createSilentLogger } from '../../electron/control/core/logger';
import type { NodeSnapshot } from '../../electron/control/nodes/registry';
import { formatFactors, Router, type FinishedLease, type RouterHooks } from '../../electron/control/router/router';
import { createClosedLoopRank } from '../../electron/control/scoring/router-adapter';

const model = { name: 'llama3.2:latest', digest: 'd', sizeBytes: 3e9 };
const snapshot = (id: string, placement: 'gpu' | 'cpu' | null): NodeSnapshot => ({
  id,
  name: id,
  url: `http://127.0.0.1:1/${id}`,
  kind: 'ollama',
  health: 'up',
  models: [model],
  loaded: placement ? [{ name: 'llama3.2:latest', digest: 'd', sizeBytes: 3e9, sizeVramBytes: placement === 'gpu' ? 3e9 : 0, placement }] : [],
});

function routerWith(nodes: NodeSnapshot[], hooks: RouterHooks = {}): Router {
  return new Router({
    nodes: () => nodes,
    bus: new EventBus(),
    log: createSilentLogger(),
    rank: createClosedLoopRank({ strategy: () => 'intelligent' }),
    hooks,
  });
}

describe('router with closed-loop hooks', () => {
  it('skips a node whose breaker rejects', () => {
    const asked: string[] = [];
    const router = routerWith([snapshot('a-gpu', 'gpu'), snapshot('b-cpu', 'cpu')], {
      admit: (id) => {
        asked.push(id);
        return id === 'a-gpu' ? 'rejected' : 'allowed';
      },
    });
    const outcome = router.route({ endpoint: 'chat', model: 'llama3.2' });
    expect(outcome.kind).toBe('routed');
    if (outcome.kind !== 'routed') return;
    expect(outcome.lease.node.id).toBe('b-cpu');
    expect(asked).toEqual(['a-gpu', 'b-cpu']);
    expect(outcome.lease.decision.alternatives).toContainEqual({ nodeId: 'a-gpu', nodeName: 'a-gpu', reason: 'breaker rejected the request' });
    outcome.lease.finish({ ok: true, latencyMs: 5 });
  });

  it('asks again as a last resort', () => {
    const router = routerWith([snapshot('a-gpu', 'gpu')], { admit: (_id, lastResort) => (lastResort ? 'allowed' : 'rejected') });
    const outcome = router.route({ endpoint: 'chat', model: 'llama3.2' });
    expect(outcome.kind === 'routed' && outcome.lease.node.id).toBe('a-gpu');
  });

  it('reports unavailable when every breaker rejects', () => {
    const router = routerWith([snapshot('a-gpu', 'gpu')], { admit: () => 'rejected' });
    const outcome = router.route({ endpoint: 'chat', model: 'llama3.2' });
    expect(outcome.kind).toBe('unavailable');
    expect(outcome.kind === 'unavailable' && outcome.message).toContain('breaker rejected the request');
  });

  it('requireLoaded leaves out cold nodes', () => {
    const router = routerWith([snapshot('a-cold', null), snapshot('b-cpu', 'cpu')]);
    const warmOnly = router.preview({ endpoint: 'chat', model: 'llama3.2', requireLoaded: true, exclude: ['b-cpu'] });
    expect(warmOnly.ranked).toEqual([]);
    expect(warmOnly.unavailable.map((u) => u.reason)).toContain('model not loaded with matching options');
    const withCpu = router.preview({ endpoint: 'chat', model: 'llama3.2', requireLoaded: true });
    expect(withCpu.ranked.map((c) => c.id)).toEqual(['b-cpu']);
  });

  it('finish hook gets the request and result', () => {
    const seen: FinishedLease[] = [];
    const router = routerWith([snapshot('a-gpu', 'gpu')], {
      onFinish: (finished) => {
        seen.push(finished);
        throw new Error('hook failure must not escape');
      },
    });
    const outcome = router.route({ endpoint: 'generate', model: 'llama3.2', taskType: 'code', priority: 8 });
    if (outcome.kind !== 'routed') throw new Error(`expected a route, got ${outcome.kind}`);
    expect(() => outcome.lease.finish({ ok: true, latencyMs: 12, ttftMs: 3 })).not.toThrow();
    outcome.lease.finish({ ok: false, latencyMs: 1 });
    expect(seen).toHaveLength(1);
    expect(seen[0].request.taskType).toBe('code');
    expect(seen[0].node.id).toBe('a-gpu');
    expect(seen[0].result.latencyMs).toBe(12);
    expect(router.traffic('a-gpu').inFlight).toBe(0);
  });

  it('decision carries factors and strategy', () => {
    const router = routerWith([snapshot('a-gpu', 'gpu'), snapshot('b-cpu', 'cpu')], { strategyName: () => 'intelligent' });
    const outcome = router.route({ endpoint: 'chat', model: 'llama3.2', priority: 9 });
    if (outcome.kind !== 'routed') throw new Error(`expected a route, got ${outcome.kind}`);
    const { decision } = outcome.lease;
    expect(decision.strategy).toBe('intelligent');
    expect(decision.factors.resident).toBe(30);
    expect(decision.factors.gpu).toBe(20);
    expect(decision.factors.priority).toBe(9);
    const { score, priority, ...contributions } = decision.factors;
    expect(priority).toBe(9);
    expect(Object.values(contributions).reduce((a, b) => a + b, 0)).toBeCloseTo(score, 1);
    outcome.lease.finish({ ok: true, latencyMs: 5 });
  });

  it('formats factors for the log line', () => {
    expect(formatFactors({ resident: 30, load: -12.5, success: 0, score: 47.5 })).toBe('resident=+30 load=-12.5 success=0 score=47.5');
  });
});
