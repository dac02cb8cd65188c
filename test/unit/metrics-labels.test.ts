import { describe, expect, it } from 'vitest';
import type { RouteDecision } from '../../shared/types';
import { EventBus } from '../../electron/control/core/event-bus';
import { createSilentLogger } from '../../electron/control/core/logger';
import { createMetrics } from '../../electron/control/metrics';

let counter = 0;

function finished(overrides: Partial<RouteDecision>): RouteDecision {
  counter += 1;
  return {
    id: `label-${counter}`,
    at: new Date(Date.UTC(2026, 0, 1)).toISOString(),
    endpoint: 'chat',
    model: 'llama3.2:latest',
    nodeId: 'n1',
    nodeName: 'alpha',
    strategy: 'intelligent',
    reason: '',
    factors: {},
    alternatives: [],
    attempt: 1,
    outcome: 'ok',
    latencyMs: 10,
    status: 200,
    ...overrides,
  };
}

async function metricsWith(decisions: RouteDecision[]): Promise<string> {
  const bus = new EventBus();
  const metrics = createMetrics({ bus, log: createSilentLogger() });
  await metrics.start();
  for (const decision of decisions) bus.emit('route:decision', decision);
  const text = metrics.renderPrometheus();
  await metrics.stop();
  return text;
}

describe('metrics model labels', () => {
  it('folds unknown models into one label', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `made-up-${i}-${'x'.repeat(2000)}`);
    const text = await metricsWith(names.map((model) => finished({ model, nodeId: null, nodeName: null, outcome: 'not_found', status: 404 })));
    const lines = text.split('\n').filter((line) => line.startsWith('synaptic_requests_total{'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('model="unknown"');
    expect(lines[0]).toMatch(/ 50$/);
  });

  it('drops control characters from a label', async () => {
    const text = await metricsWith([finished({ model: 'odd\u0000name\u0007:latest' })]);
    expect(text).toContain('model="oddname:latest"');
    expect(text.includes('\u0000')).toBe(false);
  });

  it('caps a very long model label', async () => {
    const text = await metricsWith([finished({ model: 'm'.repeat(5000) })]);
    const line = text.split('\n').find((l) => l.startsWith('synaptic_requests_total{'))!;
    expect(line.length).toBeLessThan(600);
  });

  it('gives spellings of one model one label', async () => {
    const text = await metricsWith(['llama3.2', ' llama3.2:latest\n', 'Llama3.2'].map((model) => finished({ model })));
    const lines = text.split('\n').filter((line) => line.startsWith('synaptic_requests_total{'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('model="llama3.2:latest"');
  });

  it('does not count a client that left as an error', async () => {
    const bus = new EventBus();
    const metrics = createMetrics({ bus, log: createSilentLogger() });
    await metrics.start();
    const at = new Date().toISOString();
    bus.emit('route:decision', finished({ at, outcome: 'cancelled', status: 200, latencyMs: 5 }));
    bus.emit('route:decision', finished({ at, outcome: 'error', status: 500, latencyMs: 5 }));
    const points = metrics.series(900).nodes.flatMap((node) => node.points);
    await metrics.stop();
    expect(points.reduce((n, p) => n + p.requests, 0)).toBe(2);
    expect(points.reduce((n, p) => n + p.errors, 0)).toBe(1);
  });
});
