import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ollama } from 'ollama';
import { createSilentLogger } from '../../electron/control/core/logger';
import { EventBus } from '../../electron/control/core/event-bus';
import { PlacementController, type PlacementActionEvent, type PlacementNode } from '../../electron/control/placement/controller';
import { parseFleetProfile } from '../../electron/control/sim/profile';
import { startFleet, type SimFleet } from '../../electron/control/sim/fleet';

let fleet: SimFleet;
const GB = 1_000_000_000;

beforeAll(async () => {
  const profile = parseFleetProfile({
    name: 'placement-test',
    models: [
      { name: 'llama3.2:latest', sizeBytes: 3 * GB, blockCount: 28 },
      { name: 'big:latest', sizeBytes: 20 * GB, blockCount: 40 },
    ],
    nodes: [
      { name: 'drifty', gpuVramBytes: 8 * GB, tokensPerSecGpu: 60, tokensPerSecCpu: 6, loadMs: 200, parallel: 2, queueLimit: 4, cpuLoadChance: 1, models: ['llama3.2:latest', 'big:latest'] },
      { name: 'steady', gpuVramBytes: 8 * GB, tokensPerSecGpu: 60, tokensPerSecCpu: 6, loadMs: 200, parallel: 2, queueLimit: 4, models: ['llama3.2:latest'] },
    ],
  });
  fleet = await startFleet(profile, { speed: 10 });
});

afterAll(async () => {
  await fleet?.close();
});

function setup(nodes: PlacementNode[], inFlight: (nodeId: string, model: string) => number = () => 0, now = () => Date.now()) {
  const events = new EventBus();
  const seen: PlacementActionEvent[] = [];
  events.on('placement:action', (e) => seen.push(e as PlacementActionEvent));
  const controller = new PlacementController({ log: createSilentLogger(), events, nodes: () => nodes, inFlight, now, cooldownMs: 60_000, keepAlive: '10m' });
  return { controller, seen };
}

const nodeFor = (name: string, vram?: number): PlacementNode => ({ id: name, name, url: fleet.node(name).url, ...(vram ? { gpuVramBytes: vram } : {}) });

async function landOnCpu(name: string) {
  const client = new Ollama({ host: fleet.node(name).url });
  await client.generate({ model: 'llama3.2', prompt: '', keep_alive: 0 });
  await client.generate({ model: 'llama3.2', prompt: 'hi', stream: false, options: { num_predict: 2 } });
  const ps = await client.ps();
  return ps.models.find((m) => m.name === 'llama3.2:latest')!;
}

describe('placement controller against simulated nodes', () => {
  it('reloads a CPU-placed model onto GPU', async () => {
    const before = await landOnCpu('drifty');
    expect(before.size_vram).toBe(0);

    const { controller, seen } = setup([nodeFor('drifty', 8 * GB)]);
    await controller.inspect('drifty');

    const after = await new Ollama({ host: fleet.node('drifty').url }).ps();
    const entry = after.models.find((m) => m.name === 'llama3.2:latest')!;
    expect(entry.size_vram).toBe(entry.size);
    expect(seen.map((e) => `${e.action}:${e.outcome}`)).toEqual(['reload:started', 'reload:succeeded']);
    expect(seen[0].detail).toContain('num_gpu 29');
    expect(controller.placementOf('drifty', 'llama3.2:latest')).toBe('gpu');
  });

  it('attempts a (node, model) at most once per cooldown', async () => {
    let clock = 1_000;
    const { controller, seen } = setup([nodeFor('drifty', 8 * GB)], () => 0, () => clock);
    await landOnCpu('drifty');
    await controller.inspect('drifty');
    await landOnCpu('drifty');
    await controller.inspect('drifty');
    expect(seen.filter((e) => e.outcome === 'started')).toHaveLength(1);
    clock += 60_000;
    await controller.inspect('drifty');
    expect(seen.filter((e) => e.outcome === 'started')).toHaveLength(2);
  });

  it('never reloads a model that is serving a request', async () => {
    const { controller, seen } = setup([nodeFor('drifty', 8 * GB)], () => 1);
    await landOnCpu('drifty');
    await controller.inspect('drifty');
    expect(seen).toEqual([]);
    const ps = await new Ollama({ host: fleet.node('drifty').url }).ps();
    expect(ps.models[0].size_vram).toBe(0);
  });

  it('leaves a model alone when GPU capacity is unknown', async () => {
    const { controller, seen } = setup([nodeFor('drifty')]);
    await landOnCpu('drifty');
    await controller.inspect('drifty');
    expect(seen).toEqual([]);
  });

  it('leaves a model alone that does not fit', async () => {
    const client = new Ollama({ host: fleet.node('drifty').url });
    await client.generate({ model: 'big', prompt: 'x', stream: false, options: { num_predict: 1 } });
    const { controller, seen } = setup([nodeFor('drifty', 8 * GB)]);
    await controller.inspect('drifty');
    expect(seen.filter((e) => e.model === 'big:latest')).toEqual([]);
    await client.generate({ model: 'big', prompt: '', keep_alive: 0 });
  });

  it('advises another node that holds the model on GPU instead of reloading', async () => {
    await new Ollama({ host: fleet.node('steady').url }).generate({ model: 'llama3.2', prompt: 'x', stream: false, options: { num_predict: 1 } });
    const { controller, seen } = setup([nodeFor('steady', 8 * GB), nodeFor('drifty', 8 * GB)]);
    await controller.inspect('steady');
    await landOnCpu('drifty');
    await controller.inspect('drifty');
    expect(seen.map((e) => `${e.action}:${e.outcome}`)).toEqual(['advise:advised']);
    expect(controller.nodesWithModelOnGpu('llama3.2:latest')).toEqual(['steady']);
  });

  it('pre-warms configured models', async () => {
    const steady = new Ollama({ host: fleet.node('steady').url });
    await steady.generate({ model: 'llama3.2', prompt: '', keep_alive: 0 });
    const events = new EventBus();
    const seen: PlacementActionEvent[] = [];
    events.on('placement:action', (e) => seen.push(e as PlacementActionEvent));
    const controller = new PlacementController({ log: createSilentLogger(), events, nodes: () => [nodeFor('steady', 8 * GB)], inFlight: () => 0, prewarm: [{ model: 'llama3.2', nodeIds: ['steady'] }] });
    await controller.prewarm();
    expect(seen.map((e) => `${e.action}:${e.outcome}`)).toEqual(['prewarm:started', 'prewarm:succeeded']);
    const ps = await steady.ps();
    expect(ps.models.map((m) => m.name)).toEqual(['llama3.2:latest']);
  });

  it('logs and survives a node that is down', async () => {
    const { controller, seen } = setup([{ id: 'gone', name: 'gone', url: 'http://127.0.0.1:1', gpuVramBytes: GB }]);
    await expect(controller.inspect('gone')).resolves.toEqual([]);
    expect(seen).toEqual([]);
  });
});
