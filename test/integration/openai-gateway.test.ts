import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../electron/control/plane';
import { cleanupHarness, modelsDirWith, startPlane, tinyLlama } from './gateway-harness';

let plane: ControlPlane;

// Response bodies are checked field by field, so they are read untyped.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function json(response: Response): Promise<any> {
  return response.json();
}
let base: string;

beforeAll(async () => {
  plane = await startPlane({ embedded: undefined, modelsDir: await modelsDirWith(tinyLlama) });
  base = plane.gateway.url()!;
}, 120_000);

afterAll(async () => {
  await plane?.stop();
  await cleanupHarness();
});

function postJson(path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('OpenAI endpoints through the gateway', () => {
  it('returns a chat completion', async () => {
    const response = await postJson('/v1/chat/completions', { model: tinyLlama, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3 });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.object).toBe('chat.completion');
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.model).toBe(tinyLlama);
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.usage.completion_tokens).toBe(3);
  }, 60_000);

  it('streams a chat completion ending in [DONE]', async () => {
    const response = await postJson('/v1/chat/completions', { model: tinyLlama, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3, stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await response.text())
      .split('\n\n')
      .map((block) => block.trim())
      .filter((block) => block !== '');
    expect(events.every((event) => event.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    const last = JSON.parse(events.at(-2)!.slice('data: '.length));
    expect(last.object).toBe('chat.completion.chunk');
    expect(last.choices[0].finish_reason).toBe('length');
  }, 60_000);

  it('returns embeddings', async () => {
    const response = await postJson('/v1/embeddings', { model: tinyLlama, input: 'hello' });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.object).toBe('list');
    expect(body.data[0]).toMatchObject({ object: 'embedding', index: 0 });
    expect(body.data[0].embedding.length).toBeGreaterThan(0);
  }, 60_000);

  it('lists models', async () => {
    const response = await fetch(`${base}/v1/models`);
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.object).toBe('list');
    expect(body.data.map((model: { id: string }) => model.id)).toContain(`${tinyLlama}:latest`);
  });
});
