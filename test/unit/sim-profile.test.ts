import { describe, expect, it } from 'vitest';
import { loadFleetProfile, parseFleetProfile } from '../../electron/control/sim/profile';
import { bundledProfilePath } from '../../electron/control/sim/fleet';
import { planLayers, tokensPerSecond } from '../../electron/control/sim/placement-model';
import { normalizeModelName, embeddingFor } from '../../electron/control/sim/wire';
import { parseKeepAlive } from '../../electron/control/sim/server';

const model = { name: 'm:latest', family: 'llama', parameterSize: '1B', quantizationLevel: 'Q4', sizeBytes: 2900, blockCount: 28, contextLength: 4096, embeddingLength: 8, embeddingOnly: false };
const minimalNode = { name: 'n', gpuVramBytes: 10_000, tokensPerSecGpu: 100, tokensPerSecCpu: 10, loadMs: 0, parallel: 1, queueLimit: 0, models: ['m:latest'] };

describe('fleet profile', () => {
  it('loads the bundled home-lab profile', async () => {
    const profile = await loadFleetProfile(bundledProfilePath('home-lab'));
    expect(profile.nodes.map((n) => n.name)).toEqual(['fast-gpu', 'slow-gpu', 'cpu-a', 'cpu-b']);
    expect(profile.nodes.filter((n) => n.gpuVramBytes === 0)).toHaveLength(2);
  });

  it('rejects a node that lists an unknown model', () => {
    expect(() => parseFleetProfile({ name: 'x', models: [model], nodes: [{ ...minimalNode, models: ['other'] }] })).toThrow("node 'n' lists model 'other', which is not in the fleet's models");
  });

  it('rejects a negative token rate naming the field', () => {
    expect(() => parseFleetProfile({ name: 'x', models: [model], nodes: [{ ...minimalNode, tokensPerSecGpu: -1 }] })).toThrow(/nodes\.0\.tokensPerSecGpu/);
  });

  it('rejects duplicate node names', () => {
    expect(() => parseFleetProfile({ name: 'x', models: [model], nodes: [minimalNode, minimalNode] })).toThrow("node name 'n' is used twice");
  });
});

describe('simulated placement', () => {
  const profile = parseFleetProfile({ name: 'x', models: [model], nodes: [minimalNode] }).nodes[0];
  const table: Array<[string, number | undefined, number, boolean, string, number]> = [
    ['a load with room lands on GPU', undefined, 10_000, false, 'gpu', 29],
    ['a CPU landing without num_gpu stays on CPU', undefined, 10_000, true, 'cpu', 0],
    ['num_gpu forces full offload despite a CPU landing', 29, 10_000, true, 'gpu', 29],
    ['num_gpu 0 forces CPU', 0, 10_000, false, 'cpu', 0],
    ['too little free VRAM gives a partial load', undefined, 1000, false, 'partial', 10],
  ];
  for (const [name, numGpu, free, landsOnCpu, placement, layers] of table) {
    it(name, () => {
      const plan = planLayers(profile, model, numGpu, free, landsOnCpu);
      expect(plan.placement).toBe(placement);
      expect(plan.layers).toBe(layers);
    });
  }

  it('mixes GPU and CPU speed for a partial load', () => {
    expect(tokensPerSecond(profile, 29, 29)).toBeCloseTo(100, 6);
    expect(tokensPerSecond(profile, 0, 29)).toBeCloseTo(10, 6);
    const half = tokensPerSecond(profile, 14.5, 29);
    expect(half).toBeCloseTo(1 / (0.5 / 100 + 0.5 / 10), 6);
  });
});

describe('simulator wire helpers', () => {
  it('normalises model names as Ollama compares them', () => {
    expect(normalizeModelName('Llama3.2')).toBe('llama3.2:latest');
    expect(normalizeModelName('registry.ollama.ai/library/llama3.2:latest')).toBe('llama3.2:latest');
    expect(normalizeModelName('llama3.2:1b')).toBe('llama3.2:1b');
  });

  it('parses keep_alive values', () => {
    expect(parseKeepAlive(0)).toBe(0);
    expect(parseKeepAlive('5m')).toBe(300_000);
    expect(parseKeepAlive('30s')).toBe(30_000);
    expect(parseKeepAlive(-1)).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseKeepAlive('soon')).toBe('invalid');
  });

  it('returns unit vectors for embed', () => {
    const vector = embeddingFor('hello', 16, true);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 9);
  });
});
