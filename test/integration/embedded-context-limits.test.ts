import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedNode, type EmbeddedNode } from '../../electron/control/embedded';

const MODELS_DIR = resolve(__dirname, '../../../shared/models');
const MODEL = 'tiny-llama-8L';

let node: EmbeddedNode;

beforeAll(async () => {
  node = await startEmbeddedNode({ modelsDir: MODELS_DIR, ollamaStoreDirs: false, threads: 1 });
});

afterAll(async () => {
  await node?.close();
});

type Reply = { error?: string; context?: unknown[]; prompt_eval_count?: number; done?: boolean };

async function post(path: string, body: object): Promise<{ status: number; body: Reply; ms: number }> {
  const started = Date.now();
  const response = await fetch(`${node.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Reply, ms: Date.now() - started };
}

const HUGE_PROMPT = 'lorem ipsum dolor sit amet '.repeat(450_000);

describe('embedded node prompt longer than the context', () => {
  it('truncates a 12 MB prompt by default', async () => {
    expect(HUGE_PROMPT.length).toBeGreaterThan(12_000_000);
    const reply = await post('/api/generate', { model: MODEL, prompt: HUGE_PROMPT, stream: false, options: { num_ctx: 2048, num_predict: 2 } });
    expect(reply.status).toBe(200);
    expect(reply.body.done).toBe(true);
    expect(reply.body.prompt_eval_count).toBeGreaterThan(0);
    expect(reply.body.prompt_eval_count).toBeLessThanOrEqual(2048);
    expect(reply.body.context!.length).toBeGreaterThan(0);
    expect(reply.body.context!.every((token) => Number.isInteger(token))).toBe(true);
    expect(reply.ms).toBeLessThan(8_000);
  }, 60_000);

  it('rejects a 12 MB prompt with truncate false at once', async () => {
    const reply = await post('/api/generate', { model: MODEL, prompt: HUGE_PROMPT, stream: false, truncate: false, options: { num_ctx: 2048 } });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/12150000 characters \(at least 759375 tokens\)/);
    expect(reply.body.error).toMatch(/context length of 2048 tokens/);
    expect(reply.ms).toBeLessThan(5_000);
  }, 60_000);

  it('rejects a prompt over the context with truncate false naming its tokens', async () => {
    const prompt = 'lorem ipsum dolor sit amet '.repeat(200);
    const reply = await post('/api/generate', { model: MODEL, prompt, stream: false, truncate: false, options: { num_ctx: 512 } });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/the input is \d+ tokens/);
    expect(reply.body.error).toMatch(/context length of 512 tokens/);
  }, 60_000);

  it('drops the oldest chat messages that do not fit', async () => {
    const long = 'lorem ipsum dolor sit amet '.repeat(100);
    const messages = [
      { role: 'system', content: 'You are terse.' },
      ...Array.from({ length: 40 }, (_, index) => ({ role: index % 2 === 0 ? 'user' : 'assistant', content: long })),
      { role: 'user', content: 'last question' },
    ];
    const reply = await post('/api/chat', { model: MODEL, messages, stream: false, options: { num_ctx: 512, num_predict: 2 } });
    expect(reply.status).toBe(200);
    expect(reply.body.prompt_eval_count).toBeGreaterThan(0);
    expect(reply.body.prompt_eval_count).toBeLessThanOrEqual(512);

    const strict = await post('/api/chat', { model: MODEL, messages, stream: false, truncate: false, options: { num_ctx: 512 } });
    expect(strict.status).toBe(400);
    expect(strict.body.error).toMatch(/context length of 512 tokens/);
  }, 60_000);
});

describe('embedded node keep_alive 0', () => {
  for (const stream of [false, true]) {
    it(`unloads after the response (stream ${stream})`, async () => {
      const response = await fetch(`${node.url}/api/generate`, {
        method: 'POST',
        body: JSON.stringify({ model: MODEL, prompt: 'hi', stream, keep_alive: 0, options: { num_predict: 2 } }),
      });
      expect(response.status).toBe(200);
      await response.text();
      const ps = (await (await fetch(`${node.url}/api/ps`)).json()) as { models: unknown[] };
      expect(ps.models).toEqual([]);
    }, 60_000);
  }
});
