import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ollama } from 'ollama';
import { loadFleetProfile } from '../../electron/control/sim/profile';
import { bundledProfilePath, startFleet, type SimFleet } from '../../electron/control/sim/fleet';

let fleet: SimFleet;
let client: Ollama;
let url: string;

beforeAll(async () => {
  const profile = await loadFleetProfile(bundledProfilePath('home-lab'));
  fleet = await startFleet(profile, { speed: 50 });
  url = fleet.node('fast-gpu').url;
  client = new Ollama({ host: url });
});

afterAll(async () => {
  await fleet?.close();
});

describe('simulated node with the ollama npm client', () => {
  it('lists pulled models with tag fields', async () => {
    const tags = await client.list();
    expect(tags.models.map((m) => m.name)).toContain('llama3.2:latest');
    const entry = tags.models[0];
    expect(entry.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(entry.details.family).toBeTruthy();
    expect(entry.size).toBeGreaterThan(0);
  });

  it('streams chat as NDJSON ending in done', async () => {
    const stream = await client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'hello there' }], stream: true });
    const parts: string[] = [];
    let last: Awaited<ReturnType<typeof client.chat>> | undefined;
    for await (const part of stream) {
      parts.push(part.message.content);
      last = part;
    }
    expect(parts.length).toBeGreaterThan(5);
    expect(last?.done).toBe(true);
    expect(last?.done_reason).toBe('stop');
    expect(last?.eval_count).toBe(parts.length - 1);
    expect(last?.model).toBe('llama3.2');
    const tokensPerSec = last!.eval_count / (last!.eval_duration / 1e9);
    expect(tokensPerSec).toBeCloseTo(110, 0);
  });

  it('answers generate without streaming', async () => {
    const reply = await client.generate({ model: 'Llama3.2:latest', prompt: 'why', stream: false, options: { num_predict: 7 } });
    expect(reply.done).toBe(true);
    expect(reply.done_reason).toBe('length');
    expect(reply.eval_count).toBe(7);
    expect(reply.response?.split(' ').length).toBe(7);
    expect(reply.total_duration).toBeGreaterThanOrEqual(reply.eval_duration);
  });

  it('returns unit vectors from embed in input order', async () => {
    const reply = await client.embed({ model: 'nomic-embed-text', input: ['a', 'b', 'a'] });
    expect(reply.embeddings).toHaveLength(3);
    for (const vector of reply.embeddings) {
      const norm = Math.sqrt(vector.reduce((s, v) => s + v * v, 0));
      expect(norm).toBeCloseTo(1, 6);
    }
    expect(reply.embeddings[0]).toEqual(reply.embeddings[2]);
    expect(reply.embeddings[0]).not.toEqual(reply.embeddings[1]);
  });

  it('returns non-normalised vectors from embeddings', async () => {
    const reply = await client.embeddings({ model: 'nomic-embed-text', prompt: 'a' });
    const norm = Math.sqrt(reply.embedding.reduce((s, v) => s + v * v, 0));
    expect(norm).not.toBeCloseTo(1, 2);
  });

  it('shows block_count in model_info', async () => {
    const info = await client.show({ model: 'llama3.2' });
    // The client types model_info as a Map, but it is the parsed JSON object Ollama sends.
    const modelInfo = info.model_info as unknown as Record<string, unknown>;
    expect(modelInfo['llama.block_count']).toBe(28);
    expect(modelInfo['general.architecture']).toBe('llama');
  });

  it('reports loaded models in ps with size_vram', async () => {
    const ps = await client.ps();
    const entry = ps.models.find((m) => m.name === 'llama3.2:latest');
    expect(entry).toBeDefined();
    expect(entry!.size_vram).toBe(entry!.size);
    expect(typeof entry!.expires_at).toBe('string');
  });

  it('unloads a model on keep_alive 0', async () => {
    await client.generate({ model: 'llama3.2', prompt: '', keep_alive: 0 });
    const ps = await client.ps();
    expect(ps.models.find((m) => m.name === 'llama3.2:latest')).toBeUndefined();
  });

  it('reports the version', async () => {
    const version = await client.version();
    expect(version.version).toBe('0.12.6');
  });

  it('rejects an unknown model with 404', async () => {
    await expect(client.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })).rejects.toThrow("model 'nope' not found");
    const res = await fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'nope' }) });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "model 'nope' not found" });
  });

  it('answers bad requests in Ollama shapes', async () => {
    const empty = await fetch(`${url}/api/chat`, { method: 'POST' });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toEqual({ error: 'missing request body' });
    const noModel = await fetch(`${url}/api/chat`, { method: 'POST', body: '{}' });
    expect(noModel.status).toBe(400);
    expect(await noModel.json()).toEqual({ error: 'model is required' });
    const wrongMethod = await fetch(`${url}/api/chat`);
    expect(wrongMethod.status).toBe(405);
    const unknown = await fetch(`${url}/api/nothing`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe('404 page not found');
    const root = await fetch(`${url}/`);
    expect(await root.text()).toBe('Ollama is running');
  });

  it('places a forced num_gpu load fully on GPU', async () => {
    const slow = fleet.node('slow-gpu');
    const slowClient = new Ollama({ host: slow.url });
    await slowClient.generate({ model: 'llama3.2', prompt: 'x', stream: false, options: { num_gpu: 29, num_predict: 1 } });
    const ps = await slowClient.ps();
    expect(ps.models[0].size_vram).toBe(ps.models[0].size);
    await slowClient.generate({ model: 'llama3.2', prompt: 'x', stream: false, options: { num_gpu: 0, num_predict: 1 } });
    const cpu = await slowClient.ps();
    expect(cpu.models[0].size_vram).toBe(0);
  });

  it('answers 503 server busy when the queue is full', async () => {
    const cpu = fleet.node('cpu-b');
    const capacity = cpu.engine.profile.parallel + cpu.engine.profile.queueLimit;
    const controller = new AbortController();
    const pending = Array.from({ length: capacity }, () =>
      fetch(`${cpu.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', prompt: 'x', options: { num_predict: 500 } }), signal: controller.signal }).catch(() => undefined),
    );
    await new Promise((r) => setTimeout(r, 100));
    const rejected = await fetch(`${cpu.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', prompt: 'x' }) });
    expect(rejected.status).toBe(503);
    expect(await rejected.json()).toEqual({ error: 'server busy, please try again.  maximum pending requests exceeded' });
    controller.abort();
    await Promise.all(pending);
  });

  it('stops generating and counts the abort when a client leaves', async () => {
    const node = fleet.node('cpu-a');
    const before = node.engine.stats.aborted;
    const controller = new AbortController();
    const res = await fetch(`${node.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', prompt: 'x', options: { num_predict: 2000 } }), signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await new Promise((r) => setTimeout(r, 100));
    expect(node.engine.stats.aborted).toBe(before + 1);
    const tokens = node.engine.stats.tokensGenerated;
    await new Promise((r) => setTimeout(r, 200));
    expect(node.engine.stats.tokensGenerated).toBe(tokens);
    expect(node.engine.stats.generating).toBe(0);
  });
});
