import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../electron/control/plane';
import type { NodeView } from '../../shared/types';
import { addNode, cleanupHarness, startNode, startPlane, tinyLlama, type TestNode } from './gateway-harness';

const intervalMs = 400;
let first: TestNode;
let second: TestNode;
let plane: ControlPlane;
let client: Ollama;
const states: NodeView[] = [];

beforeAll(async () => {
  first = await startNode([tinyLlama]);
  second = await startNode([tinyLlama]);
  plane = await startPlane({ health: { intervalMs, probeTimeoutMs: 2_000, slowMs: 2_000, maxBackoffMs: 1_600 } });
  plane.bus.on('node:state', (view) => states.push(view));
  await addNode(plane, first.url, 'first');
  await addNode(plane, second.url, 'second');
  client = new Ollama({ host: plane.gateway.url()! });
});

afterAll(async () => {
  await plane?.stop();
  await first?.close();
  await second?.close();
  await cleanupHarness();
});

const generate = () => client.generate({ model: tinyLlama, prompt: 'x', stream: false, options: { num_predict: 2 } });

describe('fleet failover', () => {
  it('fails over and recovers a killed node', async () => {
    await generate();
    const servedBy = plane.router.decisions(1)[0].nodeName!;
    const victim = servedBy === 'first' ? first : second;
    const survivor = servedBy === 'first' ? 'second' : 'first';
    const victimId = plane.nodes.findByUrl(victim.url)!.id;

    const killedAt = Date.now();
    await victim.close();
    // A refused connection fails every probe at once, so one interval plus scheduling slack suffices.
    await waitFor(() => plane.nodes.get(victimId)?.health === 'down', intervalMs + 1_000);
    expect(Date.now() - killedAt).toBeLessThan(intervalMs + 1_000);
    const downEvent = states.find((s) => s.id === victimId && s.health === 'down');
    expect(downEvent?.problems[0]?.kind).toBe('unreachable');

    const response = await generate();
    expect(response.done).toBe(true);
    expect(plane.router.decisions(1)[0].nodeName).toBe(survivor);
    const tags = await client.list();
    expect(tags.models.map((m) => m.name)).toEqual([`${tinyLlama}:latest`]);

    const restarted = await startNode([tinyLlama], victim.port, victim.modelsDir);
    if (victim === first) first = restarted;
    else second = restarted;
    await waitFor(() => plane.nodes.get(victimId)?.health === 'up', 1_600 + 3_000);
    expect(plane.nodes.get(victimId)?.consecutiveFailures).toBe(0);
    expect(plane.nodes.get(victimId)?.problems).toEqual([]);
  });

  it('spreads concurrent requests over two loaded nodes by in-flight count', async () => {
    for (const node of [first, second]) {
      await new Ollama({ host: node.url }).generate({ model: tinyLlama, prompt: 'warm', stream: false, options: { num_predict: 1 } });
      await plane.nodes.check(plane.nodes.findByUrl(node.url)!.id);
    }
    expect(plane.nodes.list().every((n) => n.loaded.length === 1)).toBe(true);
    const before = plane.router.figures().nodes.map((n) => n.requests);
    await Promise.all([generate(), generate(), generate(), generate()]);
    const after = plane.router.figures().nodes.map((n) => n.requests);
    const added = after.map((count, i) => count - before[i]);
    expect(added.reduce((a, b) => a + b, 0)).toBe(4);
    expect(Math.min(...added)).toBeGreaterThanOrEqual(1);
    expect(plane.router.figures().nodes.every((n) => n.inFlight === 0)).toBe(true);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
