import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../electron/control/plane';
import { cleanupHarness, modelsDirWith, startPlane, tinyRandom } from './gateway-harness';

let plane: ControlPlane;

beforeAll(async () => {
  plane = await startPlane({ embedded: undefined, modelsDir: await modelsDirWith(tinyRandom) });
  const client = new Ollama({ host: plane.gateway.url()! });
  await client.generate({ model: tinyRandom, prompt: 'x', stream: false, options: { num_predict: 4 } });
});

afterAll(async () => {
  await plane?.stop();
  await cleanupHarness();
});

/** Returns the value of the first sample whose name and labels contain every given fragment. */
function sample(text: string, ...fragments: string[]): number | undefined {
  const line = text
    .split('\n')
    .find((l) => !l.startsWith('#') && fragments.every((fragment) => l.includes(fragment)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('gateway /metrics', () => {
  it('serves Prometheus text', async () => {
    const response = await fetch(`${plane.gateway.url()}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('counts the routed request by node and status', async () => {
    const text = await (await fetch(`${plane.gateway.url()}/metrics`)).text();
    const node = plane.nodes.list()[0].id;
    expect(sample(text, 'synaptic_requests_total{', 'endpoint="generate"', `node="${node}"`, 'status="200"')).toBe(1);
  });

  it('counts the generated tokens', async () => {
    const text = await (await fetch(`${plane.gateway.url()}/metrics`)).text();
    // Labels use the name `ollama list` shows, with the default tag.
    expect(sample(text, 'synaptic_tokens_total{', `model="${tinyRandom}:latest"`)).toBeGreaterThan(0);
  });

  it('reports the embedded node as up', async () => {
    const text = await (await fetch(`${plane.gateway.url()}/metrics`)).text();
    expect(sample(text, 'synaptic_node_up{', 'node_name="embedded"')).toBe(1);
  });

  it('rejects POST with 405', async () => {
    const response = await fetch(`${plane.gateway.url()}/metrics`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(405);
  });
});
