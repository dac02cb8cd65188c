import { Writable } from 'node:stream';
import { Ollama } from 'ollama';
import { afterAll, describe, expect, it } from 'vitest';
import { createRootLogger } from '../../electron/control/core/logger';
import type { ClosedLoopTuning } from '../../electron/control/router/closed-loop';
import { ControlPlane } from '../../electron/control/plane';
import { parseFleetProfile } from '../../electron/control/sim/profile';
import { startFleet, type SimFleet } from '../../electron/control/sim/fleet';
import type { BreakerChange, PlacementAction } from '../../shared/types';
import type { RoutingSettings, RoutingStats } from '../../shared/api/routing';
import { cleanupHarness, modelsDirWith, startPlane, tempDir, tinyRandom } from './gateway-harness';

const GB = 1_000_000_000;
const model = 'llama3.2:latest';
const closers: Array<() => Promise<void>> = [];

afterAll(async () => {
  while (closers.length > 0) await closers.pop()!().catch(() => undefined);
  await cleanupHarness();
});

type NodeSpec = Record<string, unknown> & { name: string };

/** Starts simulated nodes (10x real time) and a plane with them as its fleet. */
async function setup(nodes: NodeSpec[], options: { tuning?: ClosedLoopTuning; dataDir?: string; intervalMs?: number } = {}) {
  const profile = parseFleetProfile({
    name: 'closed-loop-test',
    models: [{ name: model, sizeBytes: 3 * GB, blockCount: 28 }],
    nodes: nodes.map((n) => ({ gpuVramBytes: 8 * GB, tokensPerSecGpu: 100, tokensPerSecCpu: 20, loadMs: 200, parallel: 2, queueLimit: 8, models: [model], ...n })),
  });
  const fleet = await startFleet(profile, { speed: 10 });
  closers.push(() => fleet.close());
  const lines: string[] = [];
  const capture = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const intervalMs = options.intervalMs ?? 60_000;
  const plane = await startPlane({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    log: createRootLogger({ level: 'info', destination: capture }),
    health: { intervalMs, probeTimeoutMs: 3_000, slowMs: 3_000, maxBackoffMs: intervalMs },
    closedLoop: { hedgeRatio: 1, hedgeFloorMs: 50, hedgeFallbackMs: 150, ...options.tuning },
  });
  closers.push(() => plane.stop());
  const ids: Record<string, string> = {};
  for (const node of fleet.nodes) {
    const view = await plane.nodes.add({ url: node.url, name: node.name });
    ids[node.name] = view.id;
  }
  const client = new Ollama({ host: plane.gateway.url()! });
  return { fleet, plane, ids, client, lines };
}

/** Loads the model on a node directly, not through the gateway, and refreshes the plane's view. */
async function warm(fleet: SimFleet, plane: ControlPlane, name: string, id: string): Promise<void> {
  await new Ollama({ host: fleet.node(name).url }).generate({ model, prompt: '', keep_alive: '10m' });
  await plane.nodes.check(id);
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Reads `routing:stats` through the API table. */
async function routingStats(plane: ControlPlane): Promise<RoutingStats> {
  const result = await plane.api.invoke('routing:stats', {});
  if (!result.ok) throw new Error(`routing:stats failed: ${result.error.message}`);
  return result.value as RoutingStats;
}

const generate = (client: Ollama) => client.generate({ model: 'llama3.2', prompt: 'hello there', stream: false, options: { num_predict: 4 } });

describe('closed loop through the gateway', () => {
  it('controller moves a CPU-placed model to GPU from the health loop', async () => {
    const { fleet, plane, ids } = await setup([{ name: 'drifty', cpuLoadChance: 1 }], { intervalMs: 300 });
    const actions: PlacementAction[] = [];
    plane.bus.on('placement:action', (action) => actions.push(action));
    await plane.nodes.update({ id: ids.drifty, gpuVramBytes: 8 * GB });

    await new Ollama({ host: fleet.node('drifty').url }).generate({ model, prompt: '' });
    const direct = await new Ollama({ host: fleet.node('drifty').url }).ps();
    expect(direct.models[0].size_vram).toBe(0);

    const gateway = new Ollama({ host: plane.gateway.url()! });
    await waitFor(async () => {
      const ps = await gateway.ps();
      return ps.models.length === 1 && ps.models[0].size_vram === ps.models[0].size;
    }, 5_000, 'the gateway /api/ps to show the model on GPU');
    expect(actions.map((a) => `${a.action}:${a.outcome}`)).toEqual(['reload:started', 'reload:succeeded']);
    expect(actions[0].detail).toContain('num_gpu 29');
    expect(fleet.node('drifty').engine.stats.loads).toBe(2);
    expect((await routingStats(plane)).placementActions.map((a) => a.outcome)).toEqual(['started', 'succeeded']);
  });

  it('hedge aborts the losing request on its node', async () => {
    const { fleet, plane, ids, client } = await setup([
      { name: 'stalled', parallel: 1, queueLimit: 4 },
      { name: 'warm', gpuVramBytes: 0 },
    ]);
    await warm(fleet, plane, 'stalled', ids.stalled);
    await warm(fleet, plane, 'warm', ids.warm);
    // A long request sent straight to the node occupies its only slot, which the router cannot see.
    const blocker = new Ollama({ host: fleet.node('stalled').url });
    const blocking = blocker.generate({ model, prompt: 'block', stream: false, options: { num_predict: 400 } });

    const hedged = new Ollama({ host: plane.gateway.url()!, headers: { 'X-Synaptic-Hedge': '1' } });
    const started = performance.now();
    const reply = await hedged.generate({ model: 'llama3.2', prompt: 'hello', stream: false, options: { num_predict: 4 } });
    expect(reply.done).toBe(true);
    expect(performance.now() - started).toBeLessThan(2_000);

    await waitFor(() => fleet.node('stalled').engine.stats.aborted === 1, 2_000, 'the stalled node to see the abort');
    const decisions = plane.router.decisions(2);
    expect(decisions.find((d) => d.nodeName === 'warm')?.outcome).toBe('ok');
    expect(decisions.find((d) => d.nodeName === 'stalled')?.outcome).toBe('cancelled');
    expect((await routingStats(plane)).hedges).toMatchObject({ requests: 1, sent: 1, won: 1, cancelled: 1 });
    expect(plane.router.figures().nodes.every((n) => n.inFlight === 0)).toBe(true);
    blocker.abort();
    await blocking.catch(() => undefined);
    void client;
  });

  it('breaker opens on a node answering 503 fast', async () => {
    const { fleet, plane, ids, client } = await setup([{ name: 'flaky' }, { name: 'steady', gpuVramBytes: 0 }]);
    const changes: BreakerChange[] = [];
    plane.bus.on('breaker:state', (change) => changes.push(change));
    await warm(fleet, plane, 'flaky', ids.flaky);
    const set = await plane.api.invoke('routing:set', { strategy: 'round_robin' });
    expect(set.ok).toBe(true);
    expect(set.ok && (set.value as RoutingSettings).strategy).toBe('round_robin');
    fleet.node('flaky').engine.profile.faults.busyChance = 1;

    for (let i = 0; i < 12 && plane.closedLoop.breakers.state(ids.flaky) !== 'open'; i++) {
      expect((await generate(client)).done).toBe(true);
    }
    expect(plane.closedLoop.breakers.state(ids.flaky)).toBe('open');
    expect(fleet.node('flaky').engine.stats.busyRejected).toBe(3);
    expect(changes.map((c) => `${c.nodeId}:${c.to}`)).toEqual([`${ids.flaky}:open`]);
    expect(changes[0].reason).toContain('status 503');

    for (let i = 0; i < 4; i++) expect((await generate(client)).done).toBe(true);
    expect(fleet.node('flaky').engine.stats.busyRejected).toBe(3);
    const last = plane.router.decisions(1)[0];
    expect(last.nodeName).toBe('steady');
    expect(last.alternatives).toContainEqual({ nodeId: ids.flaky, nodeName: 'flaky', reason: 'breaker open' });
    expect((await routingStats(plane)).breakers).toContainEqual({ nodeId: ids.flaky, state: 'open' });
  });

  it('shadow probes end probation', async () => {
    const { fleet, plane, ids, client } = await setup([{ name: 'lagging' }, { name: 'other', gpuVramBytes: 0 }], {
      intervalMs: 200,
      tuning: { breaker: { probeIntervalMs: 100, probationPasses: 2 } },
    });
    await warm(fleet, plane, 'lagging', ids.lagging);
    const breaker = plane.closedLoop.breakers.get(ids.lagging);
    for (let i = 0; i < 3; i++) breaker.record({ ok: true, status: 200, latencyMs: 900, expectedLatencyMs: 100 });
    expect(breaker.state()).toBe('probation');

    const before = fleet.node('lagging').engine.stats.requests;
    expect((await generate(client)).done).toBe(true);
    expect(plane.router.decisions(1)[0].nodeName).toBe('other');

    await waitFor(() => breaker.state() === 'closed', 5_000, 'two fast shadow probes to close the breaker');
    expect(fleet.node('lagging').engine.stats.requests - before).toBeGreaterThanOrEqual(2);
  });

  it('gateway never retries after the first byte', async () => {
    const { fleet, plane, ids } = await setup([{ name: 'dying', faults: { dieMidStreamChance: 1 } }, { name: 'spare', gpuVramBytes: 0 }]);
    await warm(fleet, plane, 'dying', ids.dying);
    const spareBefore = fleet.node('spare').engine.stats.requests;

    const response = await fetch(`${plane.gateway.url()}/api/generate`, {
      method: 'POST',
      body: JSON.stringify({ model: 'llama3.2', prompt: 'hello', options: { num_predict: 200 } }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    const lines = text.trim().split('\n').map((line) => JSON.parse(line) as { done?: boolean; error?: string });
    expect(lines.length).toBeGreaterThan(1);
    expect(lines[0].done).toBe(false);
    expect(lines.at(-1)?.error).toContain('closed before the response was complete');
    expect(lines.some((line) => line.done === true)).toBe(false);
    expect(fleet.node('spare').engine.stats.requests).toBe(spareBefore);
    const [decision] = plane.router.decisions(1);
    expect(decision.nodeName).toBe('dying');
    expect(decision.attempt).toBe(1);
    expect(decision.outcome).toBe('error');
  });

  it('decision records factor contributions and logs them', async () => {
    const { fleet, plane, ids, client, lines } = await setup([{ name: 'gpu' }, { name: 'cpu', gpuVramBytes: 0 }]);
    await warm(fleet, plane, 'gpu', ids.gpu);
    await generate(client);
    const [decision] = plane.router.decisions(1);
    expect(decision.strategy).toBe('intelligent');
    expect(decision.nodeName).toBe('gpu');
    const { score, priority, ...contributions } = decision.factors;
    expect(Object.keys(contributions).sort()).toEqual(['breaker', 'gpu', 'load', 'resident', 'speed', 'success']);
    expect(contributions.resident).toBe(30);
    expect(contributions.gpu).toBe(20);
    expect(priority).toBe(5);
    const sum = Object.values(contributions).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - score)).toBeLessThan(0.05);
    const routed = lines.map((line) => JSON.parse(line) as { msg: string; decisionId?: string }).find((l) => l.decisionId === decision.id);
    expect(routed?.msg).toContain('resident=+30');
    expect(routed?.msg).toContain('gpu=+20');
    expect(routed?.msg).toContain(`score=${score}`);
  });

  it('learned statistics and settings survive a plane restart', async () => {
    const dataDir = await tempDir('closed-loop-restart-');
    const first = await setup([{ name: 'solo' }], { dataDir });
    for (let i = 0; i < 3; i++) await generate(first.client);
    await first.plane.api.invoke('routing:set', { strategy: 'fastest', hedging: true });
    const before = first.plane.closedLoop.learning.list().find((e) => e.nodeId === first.ids.solo);
    expect(before?.samples).toBe(3);
    await first.plane.stop();

    const second = new ControlPlane({ ...first.plane.config });
    closers.push(() => second.stop());
    await second.start();
    expect(second.nodes.get(first.ids.solo)?.name).toBe('solo');
    const stats = await routingStats(second);
    expect(stats.strategy).toBe('fastest');
    const learned = stats.learned.find((e) => e.nodeId === first.ids.solo);
    expect(learned).toMatchObject({ model: 'llama3.2:latest', taskType: before!.taskType, samples: 3 });
    expect(learned?.ttftMs).toBeCloseTo(before!.ttftMs, 5);
    const settings = await second.api.invoke('routing:settings', {});
    expect(settings.ok).toBe(true);
    expect(settings.ok && (settings.value as RoutingSettings).hedging).toBe(true);
  });

  it('rejects invalid routing settings naming the value', async () => {
    const { plane } = await setup([{ name: 'only' }]);
    const bad = await plane.api.invoke('routing:set', { strategy: 'fastest-ever' as never });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error.message).toContain('strategy');
    const response = await fetch(`${plane.gateway.url()}/api/generate`, {
      method: 'POST',
      headers: { 'X-Synaptic-Hedge': 'maybe' },
      body: JSON.stringify({ model: 'llama3.2', prompt: 'x' }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain("'maybe'");
  });
});

describe('placement reads after requests', () => {
  it('reads /api/ps only after loads and unloads', async () => {
    const { fleet, plane, ids, client } = await setup([{ name: 'steady' }]);
    await warm(fleet, plane, 'steady', ids.steady);
    expect(plane.nodes.get(ids.steady)!.loaded).toHaveLength(1);
    const reads: string[] = [];
    const original = plane.nodes.refreshLoaded.bind(plane.nodes);
    plane.nodes.refreshLoaded = (id: string) => {
      reads.push(id);
      return original(id);
    };

    for (let i = 0; i < 3; i++) await generate(client);
    expect(reads).toEqual([]);

    await client.generate({ model: 'llama3.2', prompt: 'bye', stream: false, keep_alive: 0, options: { num_predict: 2 } });
    await waitFor(() => reads.length === 1, 2_000, 'a read after the keep_alive 0 request');
    await waitFor(() => plane.nodes.get(ids.steady)!.loaded.length === 0, 2_000, 'the unload to show in the node view');

    await generate(client);
    await waitFor(() => reads.length === 2, 2_000, 'a read after the request that loaded the model again');
    await waitFor(() => plane.nodes.get(ids.steady)!.loaded.length === 1, 2_000, 'the load to show in the node view');
  });
});

describe('gateway /api/ps after an unload', () => {
  it('drops the cached list at once', async () => {
    // A long read spacing keeps the post-request /api/ps read from refreshing the list first.
    const { fleet, plane, ids, client } = await setup([{ name: 'solo' }], { tuning: { psReadSpacingMs: 60_000 } });
    const unload = () => client.generate({ model: 'llama3.2', prompt: 'bye', stream: false, keep_alive: 0, options: { num_predict: 2 } });
    await warm(fleet, plane, 'solo', ids.solo);
    await unload();
    await warm(fleet, plane, 'solo', ids.solo);
    expect((await client.ps()).models).toHaveLength(1);

    await unload();
    expect((await client.ps()).models).toHaveLength(0);
  });
});

describe('closed loop with the embedded node', () => {
  it('reads embedded placement like Ollama', async () => {
    const plane = await startPlane({ embedded: true, modelsDir: await modelsDirWith(tinyRandom) });
    closers.push(() => plane.stop());
    const actions: PlacementAction[] = [];
    plane.bus.on('placement:action', (action) => actions.push(action));
    const [node] = plane.nodes.list();
    const reply = await new Ollama({ host: plane.gateway.url()! }).generate({ model: tinyRandom, prompt: 'x', stream: false, options: { num_predict: 2 } });
    expect(reply.done).toBe(true);

    await plane.nodes.check(node.id);
    const loaded = plane.nodes.get(node.id)!.loaded;
    expect(loaded).toHaveLength(1);
    expect(loaded[0].sizeVramBytes).toBe(0);
    expect(loaded[0].placement).toBe('cpu');
    await plane.closedLoop.placement.inspect(node.id);
    expect(plane.closedLoop.placement.placementOf(node.id, `${tinyRandom}:latest`)).toBe('cpu');
    expect(actions.filter((a) => a.action === 'reload')).toEqual([]);
    const learned = plane.closedLoop.learning.list().find((e) => e.nodeId === node.id);
    expect(learned?.samples).toBe(1);
  });
});
