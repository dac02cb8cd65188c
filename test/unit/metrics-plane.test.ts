import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../electron/control/core/logger';
import { createMetrics, type Metrics } from '../../electron/control/metrics';
import { ControlPlane } from '../../electron/control/plane';
import { bundledProfilePath, startFleet, type SimFleet } from '../../electron/control/sim/fleet';
import { loadFleetProfile } from '../../electron/control/sim/profile';

// A real control plane routes real HTTP requests to a simulated fleet. The metrics service only
// receives the plane's bus events, as it will once the plane creates it.
let fleet: SimFleet;
let plane: ControlPlane;
let metrics: Metrics;
let dataDir: string;
const REQUESTS = 6;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'synaptic-metrics-plane-'));
  fleet = await startFleet(await loadFleetProfile(bundledProfilePath('home-lab')), { speed: 20 });
  plane = new ControlPlane({ dataDir, port: 0, discoverLocal: false, embedded: false, log: createSilentLogger() });
  metrics = createMetrics({ bus: plane.bus, log: createSilentLogger(), dataDir, tickMs: 60_000 });
  await metrics.start();
  await plane.start();
  for (const node of fleet.nodes) {
    await plane.nodes.add({ url: node.url, name: node.name }, { kind: 'simulated', persist: false });
  }
  const client = new Ollama({ host: plane.gateway.url()! });
  for (let i = 0; i < REQUESTS; i++) {
    await client.chat({ model: 'llama3.2:latest', messages: [{ role: 'user', content: `hello ${i}` }], options: { num_predict: 4 } });
  }
  await client.chat({ model: 'no-such-model:1b', messages: [{ role: 'user', content: 'hi' }] }).catch(() => undefined);
  // A health check now publishes each node's loaded models without waiting for the next interval.
  for (const node of plane.nodes.list()) await plane.api.invoke('nodes:check', { id: node.id });
});

afterAll(async () => {
  await plane?.stop();
  await metrics?.stop();
  await fleet?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('metrics on a running plane', () => {
  it('counts routed requests in the series', () => {
    const total = metrics.series(900).nodes.reduce((n, node) => n + node.points.reduce((m, p) => m + p.requests, 0), 0);
    expect(total).toBe(REQUESTS);
  });

  it('exposes requests, node state and VRAM', () => {
    const text = metrics.renderPrometheus();
    const ok = text.split('\n').filter((line) => line.startsWith('synaptic_requests_total{') && line.includes('status="200"'));
    expect(ok.reduce((n, line) => n + Number(line.split(' ').at(-1)), 0)).toBe(REQUESTS);
    // A model no node has is counted under one label, whatever name the client sent.
    expect(text).toMatch(/synaptic_requests_total\{[^}]*model="unknown"[^}]*node="none"[^}]*status="not_found"\} 1/);
    expect(text.match(/^synaptic_node_up\{.*\} 1$/gm)).toHaveLength(fleet.nodes.length);
    const loaded = plane.nodes.list().flatMap((node) => node.loaded.map((model) => ({ node: node.id, ...model })));
    expect(loaded.length).toBeGreaterThan(0);
    for (const model of loaded) {
      expect(text).toContain(`synaptic_model_vram_bytes{model="${model.name}",node="${model.node}"} ${model.sizeVramBytes}\n`);
    }
    expect(text).toMatch(/^synaptic_request_duration_seconds_count\{model="llama3\.2:latest",node="[^"]+"\} [1-9]/m);
  });

  it('persists the series on stop', async () => {
    await metrics.stop();
    const saved = JSON.parse(await readFile(join(dataDir, 'metrics.json'), 'utf8')) as { nodes: unknown[] };
    expect(saved.nodes.length).toBeGreaterThan(0);
  });
});
