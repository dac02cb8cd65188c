import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedNode, type EmbeddedNode } from '../../electron/control/embedded';
import { bundledProfilePath, startFleet, type SimFleet } from '../../electron/control/sim/fleet';
import { loadFleetProfile } from '../../electron/control/sim/profile';

const MODELS_DIR = resolve(__dirname, '../../../shared/models');
const MODEL = 'tiny-llama-8L';

let node: EmbeddedNode;
let fleet: SimFleet;

// Response bodies are checked field by field, so they are read untyped.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function json(response: Response): Promise<any> {
  return response.json();
}

beforeAll(async () => {
  node = await startEmbeddedNode({ modelsDir: MODELS_DIR, ollamaStoreDirs: false, threads: 1 });
  fleet = await startFleet(await loadFleetProfile(bundledProfilePath('home-lab')), { speed: 50 });
}, 60_000);

afterAll(async () => {
  await node?.close();
  await fleet?.close();
});

/** Posts JSON to a server and returns the response. */
export function postJson(base: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Reads an SSE body into its `data:` payloads, in order. */
export async function readSse(response: Response): Promise<string[]> {
  const text = await response.text();
  const events: string[] = [];
  for (const block of text.split('\n\n')) {
    const line = block.trim();
    if (line === '') continue;
    expect(line.startsWith('data: ')).toBe(true);
    events.push(line.slice('data: '.length));
  }
  return events;
}

type ErrorBody = { error: { message: string; type: string; param: unknown; code: unknown } };

async function expectOpenAiError(response: Response, status: number, type: string, message: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as ErrorBody;
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error.type).toBe(type);
  expect(body.error.message).toMatch(message);
}

describe('embedded node OpenAI chat completions', () => {
  it('returns a chat.completion with usage', async () => {
    const response = await postJson(node.url, '/v1/chat/completions', {
      model: MODEL,
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 4,
      seed: 1,
    });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.id).toMatch(/^chatcmpl-[0-9a-f]+$/);
    expect(body.object).toBe('chat.completion');
    expect(body.model).toBe(MODEL);
    expect(Math.abs(body.created - Date.now() / 1000)).toBeLessThan(60);
    expect(body.choices).toHaveLength(1);
    expect(body.choices[0].index).toBe(0);
    expect(body.choices[0].message.role).toBe('assistant');
    expect(typeof body.choices[0].message.content).toBe('string');
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBe(4);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + 4);
  }, 60_000);

  it('streams chunks ending in [DONE]', async () => {
    const response = await postJson(node.url, '/v1/chat/completions', {
      model: MODEL,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readSse(response);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
    const ids = new Set(chunks.map((chunk) => chunk.id));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^chatcmpl-/);
    for (const chunk of chunks) {
      expect(chunk.object).toBe('chat.completion.chunk');
      expect(chunk.model).toBe(MODEL);
    }
    const withChoices = chunks.filter((chunk) => chunk.choices.length > 0);
    expect(withChoices.length).toBeGreaterThan(1);
    expect(withChoices[0].choices[0].delta.role).toBe('assistant');
    expect(withChoices.slice(0, -1).every((chunk) => chunk.choices[0].finish_reason === null)).toBe(true);
    expect(withChoices.at(-1).choices[0].finish_reason).toBe('length');
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBe(5);
    expect(usage.usage.prompt_tokens).toBeGreaterThan(0);
  }, 60_000);

  it('rejects an unknown model with 404 not_found_error', async () => {
    const response = await postJson(node.url, '/v1/chat/completions', { model: 'missing-model', messages: [{ role: 'user', content: 'x' }] });
    await expectOpenAiError(response, 404, 'not_found_error', /model 'missing-model' not found/);
  });

  it('rejects invalid input with 400 naming the field', async () => {
    await expectOpenAiError(
      await postJson(node.url, '/v1/chat/completions', { model: MODEL, messages: [] }),
      400,
      'invalid_request_error',
      /messages/,
    );
    await expectOpenAiError(
      await postJson(node.url, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'wizard', content: 'x' }] }),
      400,
      'invalid_request_error',
      /messages\.0\.role/,
    );
    await expectOpenAiError(await postJson(node.url, '/v1/chat/completions', '{nope'), 400, 'invalid_request_error', /invalid JSON/);
    await expectOpenAiError(
      await postJson(node.url, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'x' }], temperature: 9 }),
      400,
      'invalid_request_error',
      /temperature/,
    );
  });

  it('maps a node 400 to invalid_request_error', async () => {
    const response = await postJson(node.url, '/v1/chat/completions', {
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
    });
    await expectOpenAiError(response, 400, 'invalid_request_error', /does not support tools/);
  });
});

describe('embedded node OpenAI completions, embeddings and models', () => {
  it('returns a text_completion', async () => {
    const response = await postJson(node.url, '/v1/completions', { model: MODEL, prompt: 'Once upon', max_tokens: 3 });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.id).toMatch(/^cmpl-/);
    expect(body.object).toBe('text_completion');
    expect(body.model).toBe(MODEL);
    expect(typeof body.choices[0].text).toBe('string');
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.usage.completion_tokens).toBe(3);
  }, 60_000);

  it('streams a text completion ending in [DONE]', async () => {
    const response = await postJson(node.url, '/v1/completions', { model: MODEL, prompt: 'Once upon', max_tokens: 3, stream: true });
    const events = await readSse(response);
    expect(events.at(-1)).toBe('[DONE]');
    const last = JSON.parse(events.at(-2)!);
    expect(last.object).toBe('text_completion');
    expect(last.choices[0].finish_reason).toBe('length');
  }, 60_000);

  it('returns embeddings with index', async () => {
    const response = await postJson(node.url, '/v1/embeddings', { model: MODEL, input: ['first text', 'second'] });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.object).toBe('list');
    expect(body.model).toBe(MODEL);
    expect(body.data).toHaveLength(2);
    expect(body.data.map((entry: { index: number }) => entry.index)).toEqual([0, 1]);
    expect(body.data[0].object).toBe('embedding');
    expect(body.data[0].embedding.length).toBeGreaterThan(0);
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens);

    const packed = await json(await postJson(node.url, '/v1/embeddings', { model: MODEL, input: 'first text', encoding_format: 'base64' }));
    const floats = new Float32Array(Uint8Array.from(Buffer.from(packed.data[0].embedding, 'base64')).buffer);
    expect(floats.length).toBe(body.data[0].embedding.length);
    expect(floats[0]).toBeCloseTo(body.data[0].embedding[0], 5);
  }, 60_000);

  it('rejects an embeddings input of the wrong type', async () => {
    await expectOpenAiError(await postJson(node.url, '/v1/embeddings', { model: MODEL, input: 5 }), 400, 'invalid_request_error', /input/);
  });

  it('lists and retrieves models', async () => {
    const list = await json(await fetch(`${node.url}/v1/models`));
    expect(list.object).toBe('list');
    const ids = list.data.map((entry: { id: string }) => entry.id);
    expect(ids).toContain(`${MODEL}:latest`);
    const entry = list.data.find((model: { id: string }) => model.id === `${MODEL}:latest`);
    expect(entry).toMatchObject({ object: 'model', owned_by: 'library' });
    expect(entry.created).toBeGreaterThan(0);

    const one = await json(await fetch(`${node.url}/v1/models/${MODEL}`));
    expect(one.id).toBe(`${MODEL}:latest`);
    await expectOpenAiError(await fetch(`${node.url}/v1/models/nothing-here`), 404, 'not_found_error', /nothing-here/);
  });

  it('answers an unknown /v1 path with an OpenAI 404', async () => {
    await expectOpenAiError(await fetch(`${node.url}/v1/frobnicate`), 404, 'not_found_error', /\/v1\/frobnicate/);
  });
});

describe('simulated node OpenAI endpoints', () => {
  it('serves chat, streaming chat, embeddings and models', async () => {
    const url = fleet.node('fast-gpu').url;
    const chat = await json(await postJson(url, '/v1/chat/completions', { model: 'llama3.2', messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 }));
    expect(chat.object).toBe('chat.completion');
    expect(chat.choices[0].message.content.length).toBeGreaterThan(0);
    expect(chat.usage.completion_tokens).toBeGreaterThan(0);

    const events = await readSse(await postJson(url, '/v1/chat/completions', { model: 'llama3.2', messages: [{ role: 'user', content: 'hello' }], stream: true }));
    expect(events.at(-1)).toBe('[DONE]');
    expect(JSON.parse(events.at(-2)!).choices[0].finish_reason).toMatch(/^(stop|length)$/);

    const models = await json(await fetch(`${url}/v1/models`));
    expect(models.data.map((model: { id: string }) => model.id)).toContain('llama3.2:latest');

    const missing = await postJson(url, '/v1/embeddings', { model: 'not-there', input: 'x' });
    await expectOpenAiError(missing, 404, 'not_found_error', /not-there/);
    const embedModel = models.data.map((model: { id: string }) => model.id).find((id: string) => /embed/.test(id)) ?? 'llama3.2:latest';
    const embedded = await json(await postJson(url, '/v1/embeddings', { model: embedModel, input: 'x' }));
    expect(embedded.data[0].embedding.length).toBeGreaterThan(0);
  }, 60_000);
});
