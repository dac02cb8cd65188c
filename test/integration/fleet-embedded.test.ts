import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../electron/control/plane';
import { cleanupHarness, modelsDirWith, startPlane, tinyRandom } from './gateway-harness';

let plane: ControlPlane;

beforeAll(async () => {
  plane = await startPlane({ embedded: undefined, modelsDir: await modelsDirWith(tinyRandom) });
});

afterAll(async () => {
  await plane?.stop();
  await cleanupHarness();
});

describe('control plane with an embedded node', () => {
  it('registers the embedded node without persisting it', async () => {
    const [node] = plane.nodes.list();
    expect(node.kind).toBe('embedded');
    expect(node.health).toBe('up');
    expect(node.models.map((m) => m.name)).toEqual([`${tinyRandom}:latest`]);
    await plane.nodes.add({ url: 'http://127.0.0.1:9', name: 'user node' });
    const saved = JSON.parse(await readFile(join(plane.config.dataDir, 'nodes.json'), 'utf8'));
    expect(saved.nodes.map((n: { name: string }) => n.name)).toEqual(['user node']);
  });

  it('rejects the gateway itself as a node', async () => {
    const port = new URL(plane.gateway.url()!).port;
    for (const url of [`http://127.0.0.1:${port}`, `localhost:${port}`]) {
      const result = await plane.api.invoke('nodes:add', { url });
      expect(result).toMatchObject({ ok: false, error: { code: 'invalid_argument' } });
      if (!result.ok) expect(result.error.message).toContain('this gateway itself');
    }
  });

  it('rejects an over-long node URL', async () => {
    const result = await plane.api.invoke('nodes:add', { url: `http://${'a'.repeat(3000)}` });
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_argument' } });
  });

  it('serves the model through the gateway and the API channels', async () => {
    const client = new Ollama({ host: plane.gateway.url()! });
    const reply = await client.generate({ model: tinyRandom, prompt: 'x', stream: false, options: { num_predict: 2 } });
    expect(reply.done).toBe(true);

    const info = await plane.api.invoke('system:info', {});
    expect(info).toMatchObject({ ok: true, value: { runtime: 'node', gateway: { listening: true } } });
    const models = await plane.api.invoke('models:list', {});
    expect(models).toMatchObject({ ok: true, value: [{ name: `${tinyRandom}:latest`, nodes: ['embedded'] }] });
    const decisions = await plane.api.invoke('router:decisions', { limit: 1 });
    expect(decisions).toMatchObject({ ok: true, value: [{ model: tinyRandom, nodeName: 'embedded', outcome: 'ok' }] });
    const figures = await plane.api.invoke('stats:figures', {});
    expect(figures).toMatchObject({ ok: true, value: { totalRequests: 1 } });
  });

  it('rejects invalid node input through the API with the value named', async () => {
    const bad = await plane.api.invoke('nodes:add', { url: 'ftp://example' });
    expect(bad).toEqual({ ok: false, error: { code: 'invalid_argument', message: expect.stringContaining("'ftp://example'") } });
    const missing = await plane.api.invoke('nodes:check', { id: 'node-none' });
    expect(missing).toEqual({ ok: false, error: { code: 'not_found', message: "node 'node-none' not found" } });
  });
});
