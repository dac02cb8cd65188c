import { request as httpRequest } from 'node:http';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../electron/control/plane';
import type { RouteDecision } from '../../shared/types';
import {
  addNode,
  cleanupHarness,
  FaultNode,
  nodeIdOf,
  readChunks,
  Relay,
  startNode,
  startPlane,
  tinyLlama,
  tinyRandom,
  type TestNode,
} from './gateway-harness';

let nodeA: TestNode;
let nodeB: TestNode;
let relayA: Relay;
let plane: ControlPlane;
let gateway: string;
let client: Ollama;

beforeAll(async () => {
  nodeA = await startNode([tinyLlama]);
  nodeB = await startNode([tinyRandom]);
  relayA = await new Relay(nodeA.port).listen();
  plane = await startPlane();
  await addNode(plane, relayA.url, 'node-a');
  await addNode(plane, nodeB.url, 'node-b');
  gateway = plane.gateway.url()!;
  client = new Ollama({ host: gateway });
});

afterAll(async () => {
  await plane?.stop();
  await relayA?.close();
  await nodeA?.close();
  await nodeB?.close();
  await cleanupHarness();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gateway}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

function lastDecision(): RouteDecision {
  return plane.router.decisions(1)[0];
}

describe('fleet lists before any model is loaded', () => {
  it('answers /api/ps with an empty list, never null', async () => {
    const response = await fetch(`${gateway}/api/ps`);
    expect(response.status).toBe(200);
    expect(await response.json() as any).toEqual({ models: [] });
  });
});

describe('official ollama client through the gateway', () => {
  it('lists both nodes models with Ollama fields and node names', async () => {
    const { models } = await client.list();
    const names = models.map((m) => m.name).sort();
    expect(names).toEqual([`${tinyRandom}:latest`, `${tinyLlama}:latest`]);
    for (const model of models) {
      expect(model.digest).toMatch(/^[0-9a-f]{64}$/);
      expect(model.size).toBeGreaterThan(0);
      expect(typeof model.modified_at).toBe('string');
      expect(model.details.format).toBe('gguf');
    }
    const llama = models.find((m) => m.name.startsWith(tinyLlama)) as unknown as { synaptic_nodes: string[] };
    expect(llama.synaptic_nodes).toEqual(['node-a']);
  });

  it('chats without streaming and echoes the model as sent', async () => {
    const response = await client.chat({ model: tinyLlama, messages: [{ role: 'user', content: 'hi' }], stream: false, options: { num_predict: 8 } });
    expect(response.model).toBe(tinyLlama);
    expect(response.done).toBe(true);
    expect(typeof response.message.content).toBe('string');
    expect(response.eval_count).toBeGreaterThan(0);
    expect(lastDecision().nodeName).toBe('node-a');
  });

  it('streams chat parts and ends with done', async () => {
    const stream = await client.chat({ model: tinyLlama, messages: [{ role: 'user', content: 'hi' }], stream: true, options: { num_predict: 12 } });
    const parts = [];
    for await (const part of stream) parts.push(part);
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.slice(0, -1).every((p) => p.done === false)).toBe(true);
    const last = parts.at(-1)!;
    expect(last.done).toBe(true);
    expect(last.done_reason).toBeDefined();
    expect(last.total_duration).toBeGreaterThan(0);
  });

  it('generates on the node that holds the other model', async () => {
    const response = await client.generate({ model: tinyRandom, prompt: 'hello', stream: false, options: { num_predict: 6 } });
    expect(response.model).toBe(tinyRandom);
    expect(response.done).toBe(true);
    expect(lastDecision().nodeName).toBe('node-b');

    const stream = await client.generate({ model: tinyRandom, prompt: 'hello', stream: true, options: { num_predict: 6 } });
    let done = false;
    for await (const part of stream) done = part.done;
    expect(done).toBe(true);
  });

  it('embeds a batch and shows a model', async () => {
    const embedded = await client.embed({ model: tinyLlama, input: ['a', 'b'] });
    expect(embedded.embeddings).toHaveLength(2);
    const norm = Math.hypot(...embedded.embeddings[0]);
    expect(norm).toBeCloseTo(1, 3);

    const shown = await client.show({ model: tinyRandom });
    expect(shown.details.format).toBe('gguf');
    expect(lastDecision().nodeName).toBe('node-b');
  });

  it('lists loaded models from both nodes in ps', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const { models } = await client.ps();
    const names = models.map((m) => m.name).sort();
    expect(names).toEqual([`${tinyRandom}:latest`, `${tinyLlama}:latest`]);
    for (const model of models) {
      expect(typeof model.size_vram).toBe('number');
      expect(typeof model.expires_at).toBe('string');
    }
  });
});

describe('NDJSON streaming relayed line by line', () => {
  it('streams when stream is absent, one whole JSON object per line', async () => {
    const response = await post('/api/chat', { model: tinyLlama, messages: [{ role: 'user', content: 'count' }], options: { num_predict: 40 } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/x-ndjson');
    const chunks = await readChunks(response);
    const text = chunks.map((c) => c.text).join('');
    const lines = text.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(chunk.text.endsWith('\n')).toBe(true);
    const parsed = lines.map((line) => JSON.parse(line));
    expect(parsed.at(-1).done).toBe(true);
    for (const key of ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration']) {
      expect(parsed.at(-1)).toHaveProperty(key);
    }
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks[0].at).toBeLessThan(chunks.at(-1)!.at);
  });

  it('returns one JSON object for stream false', async () => {
    const response = await post('/api/generate', { model: tinyLlama, prompt: 'x', stream: false, options: { num_predict: 4 } });
    expect(response.headers.get('content-type')).toContain('application/json');
    const body = await response.json() as any;
    expect(body.done).toBe(true);
  });
});

describe('errors before and during the stream', () => {
  it('answers an unknown model with 404 and Ollama error body', async () => {
    const response = await post('/api/chat', { model: 'nothing-here', messages: [] });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json() as any).toEqual({ error: "model 'nothing-here' not found" });
  });

  it('ends a stream whose node dies with one error line and no done', async () => {
    relayA.cutAfterLines = 5;
    try {
      const response = await post('/api/chat', { model: tinyLlama, messages: [{ role: 'user', content: 'go' }], options: { num_predict: 200 } });
      expect(response.status).toBe(200);
      const lines = (await response.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line));
      expect(lines).toHaveLength(6);
      expect(lines.slice(0, 5).every((line) => line.done === false)).toBe(true);
      expect(lines[5]).toEqual({ error: expect.stringContaining('node connection closed') });
      expect(lines.some((line) => line.done === true)).toBe(false);
    } finally {
      relayA.cutAfterLines = null;
    }
  });

  it('makes the ollama client throw on a stream that failed midway', async () => {
    relayA.cutAfterLines = 3;
    try {
      const consume = async () => {
        const stream = await client.chat({ model: tinyLlama, messages: [{ role: 'user', content: 'go' }], stream: true, options: { num_predict: 200 } });
        for await (const part of stream) void part;
      };
      await expect(consume()).rejects.toThrow(/node connection closed/);
    } finally {
      relayA.cutAfterLines = null;
    }
  });
});

describe('client disconnect during a stream', () => {
  it('closes the node connection soon after the client goes away mid-stream', async () => {
    const started = Date.now();
    const closedAt = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${gateway}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let lines = 0;
        res.on('data', (chunk: Buffer) => {
          lines += chunk.toString().split('\n').filter(Boolean).length;
          if (lines >= 3) {
            const at = Date.now();
            req.destroy();
            resolve(at);
          }
        });
      });
      req.on('error', () => undefined);
      req.end(JSON.stringify({ model: tinyLlama, messages: [{ role: 'user', content: 'long' }], options: { num_predict: 1500 } }));
      setTimeout(() => reject(new Error('no lines arrived')), 20_000);
    });
    const connection = relayA.connectionFor('POST /api/chat', started)!;
    expect(connection).toBeDefined();
    await waitFor(() => connection.closedAt !== undefined, 2_000);
    expect(connection.closedAt! - closedAt).toBeLessThan(1_000);
    await waitFor(() => plane.router.traffic(nodeIdOf(plane, relayA.url)).inFlight === 0, 2_000);
    expect(plane.router.decisions(1)[0].outcome).toBe('cancelled');
  });
});

describe('model names compared as Ollama does', () => {
  it.each([tinyLlama, `${tinyLlama}:latest`, `registry.ollama.ai/library/${tinyLlama}:latest`, tinyLlama.toUpperCase()])(
    'serves %s from the node holding it and echoes the name',
    async (name) => {
      const response = await post('/api/generate', { model: name, prompt: 'x', stream: false, options: { num_predict: 2 } });
      expect(response.status).toBe(200);
      expect((await response.json() as any).model).toBe(name);
      expect(lastDecision().nodeName).toBe('node-a');
    },
  );

  it('treats another tag as another model', async () => {
    const response = await post('/api/generate', { model: `${tinyLlama}:1b`, prompt: 'x' });
    expect(response.status).toBe(404);
    expect(await response.json() as any).toEqual({ error: `model '${tinyLlama}:1b' not found` });
  });
});

describe('client errors in Ollama shape', () => {
  const cases: Array<[string, string, string, string | undefined, number, string, string]> = [
    ['a model no node has', 'POST', '/api/chat', '{"model":"x","messages":[]}', 404, 'application/json', '{"error":"model \'x\' not found"}'],
    ['no model field', 'POST', '/api/chat', '{"messages":[]}', 400, 'application/json', '{"error":"model is required"}'],
    ['an empty body', 'POST', '/api/chat', '', 400, 'application/json', '{"error":"missing request body"}'],
    ['GET on a POST endpoint', 'GET', '/api/chat', undefined, 405, 'text/plain', '405 method not allowed'],
    ['an unknown path', 'GET', '/api/nothing', undefined, 404, 'text/plain', '404 page not found'],
  ];
  it.each(cases)('answers %s', async (_name, method, path, body, status, type, expected) => {
    const response = await fetch(`${gateway}${path}`, { method, body });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toContain(type);
    expect(await response.text()).toBe(expected);
  });

  it('answers broken JSON with 400 and the parser message', async () => {
    const response = await post('/api/generate', '{"model": "x",');
    expect(response.status).toBe(400);
    expect((await response.json() as any).error).toMatch(/^invalid JSON: /);
  });

  it('rejects a bad priority header naming the value', async () => {
    const response = await post('/api/generate', { model: tinyLlama, prompt: 'x' }, { 'x-synaptic-priority': 'urgent' });
    expect(response.status).toBe(400);
    expect((await response.json() as any).error).toContain("'urgent'");
  });

  it('routes a model only node B has to node B', async () => {
    const response = await post('/api/generate', { model: tinyRandom, prompt: 'x', stream: false, options: { num_predict: 2 } });
    expect(response.status).toBe(200);
    expect(lastDecision().nodeName).toBe('node-b');
  });

  it('answers OpenAI endpoints with OpenAI-shaped errors and data', async () => {
    const missing = await post('/v1/chat/completions', { model: 'nope', messages: [{ role: 'user', content: 'x' }] });
    expect(missing.status).toBe(404);
    expect((await missing.json() as any).error.message).toBe("model 'nope' not found");

    const models = await (await fetch(`${gateway}/v1/models`)).json() as any;
    expect(models.object).toBe('list');
    expect(models.data.map((m: { id: string }) => m.id).sort()).toEqual([`${tinyRandom}:latest`, `${tinyLlama}:latest`]);

    const one = await (await fetch(`${gateway}/v1/models/${tinyLlama}`)).json() as any;
    expect(one).toMatchObject({ id: `${tinyLlama}:latest`, object: 'model', owned_by: 'library' });
    const none = await fetch(`${gateway}/v1/models/absent`);
    expect(none.status).toBe(404);
  });
});

describe('fleet lists, heartbeat and version', () => {
  it('answers HEAD / with 200 and no body, and GET / with Ollama is running', async () => {
    const head = await fetch(`${gateway}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const get = await fetch(`${gateway}/`);
    expect(get.headers.get('content-type')).toContain('text/plain');
    expect(await get.text()).toBe('Ollama is running');
    expect((await fetch(`${gateway}/api/tags`, { method: 'HEAD' })).status).toBe(200);
  });

  it('reports the lowest version among healthy nodes', async () => {
    const versions = plane.nodes.list().map((n) => n.version!);
    const body = await (await fetch(`${gateway}/api/version`)).json() as any;
    expect(body.version).toBe([...versions].sort()[0]);
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('keeps answering tags when one node is down', async () => {
    const fault = await new FaultNode('spare:latest').listen();
    const added = await plane.nodes.add({ url: fault.url, name: 'spare' });
    await fault.close();
    await plane.nodes.check(added.id);
    plane.gateway.views.invalidate();
    const response = await fetch(`${gateway}/api/tags`);
    expect(response.status).toBe(200);
    const names = (await response.json() as any).models.map((m: { name: string }) => m.name);
    expect(names).toContain(`${tinyLlama}:latest`);
    expect(names).not.toContain('spare:latest');
    await plane.nodes.remove(added.id);
  });
});

describe('embed and embeddings endpoints', () => {
  it('returns unit vectors in input order from /api/embed', async () => {
    const response = await post('/api/embed', { model: tinyLlama, input: ['first', 'second'] });
    const body = await response.json() as any;
    expect(body.model).toBe(tinyLlama);
    expect(body.embeddings).toHaveLength(2);
    for (const vector of body.embeddings) expect(Math.hypot(...vector)).toBeCloseTo(1, 3);
    const single = await (await post('/api/embed', { model: tinyLlama, input: 'second' })).json() as any;
    expect(single.embeddings[0]).toEqual(body.embeddings[1]);
    expect(lastDecision().endpoint).toBe('embed');
  });

  it('returns one embedding from /api/embeddings', async () => {
    const body = await (await post('/api/embeddings', { model: tinyLlama, prompt: 'first' })).json() as any;
    expect(Array.isArray(body.embedding)).toBe(true);
    expect(body.embeddings).toBeUndefined();
    expect(lastDecision().endpoint).toBe('embeddings');
  });

  it('returns an empty list for empty input', async () => {
    const body = await (await post('/api/embed', { model: tinyLlama, input: [] })).json() as any;
    expect(body.embeddings).toEqual([]);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
