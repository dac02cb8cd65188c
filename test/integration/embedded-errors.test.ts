import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKeepAlive, startEmbeddedNode, type EmbeddedNode } from '../../electron/control/embedded';

const MODELS_DIR = resolve(__dirname, '../../../shared/models');

let node: EmbeddedNode;

beforeAll(async () => {
  node = await startEmbeddedNode({ modelsDir: MODELS_DIR, ollamaStoreDirs: false, threads: 1 });
});

afterAll(async () => {
  await node?.close();
});

function post(path: string, body: string | object, signal?: AbortSignal): Promise<Response> {
  return fetch(`${node.url}${path}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

async function expectJsonError(response: Response, status: number, message: string | RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: string };
  expect(Object.keys(body)).toEqual(['error']);
  if (typeof message === 'string') expect(body.error).toBe(message);
  else expect(body.error).toMatch(message);
}

describe('embedded node heartbeat', () => {
  it('answers HEAD / with an empty 200', async () => {
    const response = await fetch(node.url, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('answers GET / with Ollama is running', async () => {
    const response = await fetch(node.url);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toBe('Ollama is running');
  });

  it('reports a version', async () => {
    const body = (await (await fetch(`${node.url}/api/version`)).json()) as { version: string };
    expect(body.version).toMatch(/^0\.\d+\.\d+$/);
  });

  it('answers HEAD /api/tags with 200', async () => {
    expect((await fetch(`${node.url}/api/tags`, { method: 'HEAD' })).status).toBe(200);
  });

  it('reports an empty ps as an empty list', async () => {
    expect(await (await fetch(`${node.url}/api/ps`)).json()).toEqual({ models: [] });
  });
});

describe('embedded node errors', () => {
  it('rejects an unknown model with 404', async () => {
    for (const path of ['/api/chat', '/api/generate', '/api/embed', '/api/embeddings', '/api/show']) {
      const response = await post(path, { model: 'nope:7b', prompt: 'x', input: 'x', messages: [] });
      await expectJsonError(response, 404, "model 'nope:7b' not found");
    }
  });

  it('rejects a missing model with 400', async () => {
    await expectJsonError(await post('/api/chat', { messages: [] }), 400, 'model is required');
    await expectJsonError(await post('/api/generate', { prompt: 'x' }), 400, 'model is required');
    await expectJsonError(await post('/api/embed', { input: 'x' }), 400, 'model is required');
  });

  it('rejects an empty body with 400', async () => {
    await expectJsonError(await post('/api/chat', ''), 400, 'missing request body');
  });

  it('rejects invalid JSON with 400', async () => {
    await expectJsonError(await post('/api/generate', '{"model": '), 400, /^invalid JSON in request body/);
    await expectJsonError(await post('/api/generate', '[1, 2]'), 400, 'request body must be a JSON object');
  });

  it('rejects invalid field values naming the field', async () => {
    const model = 'tiny-llama-8L';
    await expectJsonError(
      await post('/api/generate', { model, prompt: 'x', options: { temperature: 'hot' } }),
      400,
      /options\.temperature/,
    );
    await expectJsonError(await post('/api/chat', { model, messages: [{ role: 'wizard', content: 'x' }] }), 400, /messages\.0\.role/);
    await expectJsonError(await post('/api/generate', { model, prompt: 'x', keep_alive: '5 minutes' }), 400, /keep_alive "5 minutes"/);
    await expectJsonError(await post('/api/generate', { model, prompt: 'x', stream: 'yes' }), 400, /stream/);
  });

  it('rejects capabilities the model lacks', async () => {
    const model = 'tiny-llama-8L';
    const tool = { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } };
    await expectJsonError(
      await post('/api/chat', { model, messages: [{ role: 'user', content: 'x' }], tools: [tool] }),
      400,
      '"tiny-llama-8L" does not support tools',
    );
    await expectJsonError(await post('/api/generate', { model, prompt: 'x', think: true }), 400, '"tiny-llama-8L" does not support thinking');
    await expectJsonError(await post('/api/generate', { model, prompt: 'x', suffix: 'y' }), 400, '"tiny-llama-8L" does not support insert');
  });

  it('answers a wrong method with 405 plain text', async () => {
    const response = await fetch(`${node.url}/api/chat`);
    expect(response.status).toBe(405);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  });

  it('answers an unknown path with 404 plain text', async () => {
    const response = await fetch(`${node.url}/api/nothing`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toBe('404 page not found');
  });
});

describe('parseKeepAlive', () => {
  const cases: [unknown, number | 'error'][] = [
    [undefined, 300_000],
    [0, 0],
    ['0', 0],
    [30, 30_000],
    ['30', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
    ['250ms', 250],
    [-1, Number.POSITIVE_INFINITY],
    ['-1m', Number.POSITIVE_INFINITY],
    ['5 minutes', 'error'],
    ['m', 'error'],
    [true, 'error'],
  ];
  for (const [input, expected] of cases) {
    it(`parses ${JSON.stringify(input)}`, () => {
      const result = parseKeepAlive(input);
      if (expected === 'error') expect('error' in result).toBe(true);
      else expect(result).toEqual({ ms: expected });
    });
  }
});

describe('embedded node streaming', () => {
  it('streams NDJSON by default, line by line', async () => {
    const response = await post('/api/generate', { model: 'tiny-llama-8L', prompt: 'x', options: { num_predict: 60 } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');

    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    const arrivals: number[] = [];
    let buffer = '';
    const lines: string[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const complete = buffer.split('\n');
      buffer = complete.pop()!;
      for (const line of complete) {
        lines.push(line);
        arrivals.push(performance.now());
      }
    }
    expect(buffer).toBe('');
    // A token that ends inside a multi-byte character yields no text, so it gets no line of its own.
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.length).toBeLessThanOrEqual(61);
    const parsed = lines.map((line) => JSON.parse(line) as { done: boolean; eval_count?: number });
    expect(parsed.slice(0, -1).every((line) => line.done === false)).toBe(true);
    expect(parsed.at(-1)!.done).toBe(true);
    expect(parsed.at(-1)!.eval_count).toBe(60);
    expect(arrivals.at(-1)! - arrivals[0]).toBeGreaterThan(20);
  });

  it('frees the slot when a non-streaming client aborts', async () => {
    const controller = new AbortController();
    const pending = post('/api/generate', { model: 'tiny-llama-8L', prompt: 'x', stream: false, options: { num_predict: -1 } }, controller.signal);
    await new Promise((done) => setTimeout(done, 300));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });

    const started = Date.now();
    const response = await post('/api/generate', { model: 'tiny-llama-8L', prompt: 'x', stream: false, options: { num_predict: 2 } });
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});

describe('embedded node queue', () => {
  it('answers 503 when the queue is full', async () => {
    const busy = await startEmbeddedNode({ modelsDir: MODELS_DIR, ollamaStoreDirs: false, threads: 1, parallel: 1, maxQueue: 1 });
    try {
      const model = 'llama-2-tiny-random';
      const send = (body: object, signal?: AbortSignal) =>
        fetch(`${busy.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model, ...body }), signal });
      await send({});

      // The first request holds the only slot until it is aborted, and the second one waits.
      const controller = new AbortController();
      const running = await send({ prompt: 'x', options: { num_predict: -1 } }, controller.signal);
      const reader = running.body!.getReader();
      await reader.read();
      const queued = send({ prompt: 'x', stream: false, options: { num_predict: 2 } });
      await new Promise((done) => setTimeout(done, 200));
      const rejected = await send({ prompt: 'x', stream: false, options: { num_predict: 2 } });

      expect(rejected.status).toBe(503);
      expect(await rejected.json()).toEqual({ error: 'server busy, please try again.  maximum pending requests exceeded' });
      controller.abort();
      await reader.read().catch(() => undefined);
      expect((await queued).status).toBe(200);
    } finally {
      await busy.close();
    }
  });

  it('runs requests side by side with parallel slots', async () => {
    const wide = await startEmbeddedNode({ modelsDir: MODELS_DIR, ollamaStoreDirs: false, threads: 1, parallel: 2, maxQueue: 1 });
    try {
      const body = { model: 'llama-2-tiny-random', prompt: 'x', stream: false, options: { num_predict: 50 } };
      const send = () => fetch(`${wide.url}/api/generate`, { method: 'POST', body: JSON.stringify(body) });
      await fetch(`${wide.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: body.model }) });
      // Two requests take the two slots and the third waits in the one-place queue.
      const responses = await Promise.all([send(), send(), send()]);
      expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    } finally {
      await wide.close();
    }
  });
});

describe('embedded node with broken model files', () => {
  let dir: string;
  let broken: EmbeddedNode;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'embedded-broken-'));
    await writeFile(join(dir, 'garbage.gguf'), Buffer.alloc(4096, 7));
    await symlink(join(MODELS_DIR, 'llama-2-tiny-random.gguf'), join(dir, 'good.gguf'));
    broken = await startEmbeddedNode({ modelsDir: dir, ollamaStoreDirs: false, threads: 1 });
  });

  afterAll(async () => {
    await broken?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves out a file that is not GGUF and keeps serving', async () => {
    const send = (path: string, body: object) =>
      fetch(`${broken.url}${path}`, { method: 'POST', body: JSON.stringify(body) });

    await expectJsonError(await send('/api/generate', { model: 'garbage', prompt: 'x', stream: false }), 404, "model 'garbage' not found");
    await expectJsonError(await send('/api/show', { model: 'garbage' }), 404, "model 'garbage' not found");

    const tags = await fetch(`${broken.url}/api/tags`);
    expect(tags.status).toBe(200);
    const listed = ((await tags.json()) as { models: { name: string }[] }).models.map((model) => model.name);
    expect(listed).toEqual(['good:latest']);
    const good = await send('/api/generate', { model: 'good', prompt: 'x', stream: false, options: { num_predict: 2 } });
    expect(good.status).toBe(200);
  });
});
