import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRootLogger } from '../../electron/control/core/logger';
import { startEmbeddedNode, type EmbeddedNode } from '../../electron/control/embedded';

const MODELS_DIR = resolve(__dirname, '../../../shared/models');
const MODELS = ['tiny-llama-8L', 'llama-2-tiny-random'];

let node: EmbeddedNode;
let client: Ollama;
const logLines: string[] = [];

beforeAll(async () => {
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const log = createRootLogger({ level: 'info', destination });
  // One thread per context keeps decoding fast while other processes share the CPU.
  node = await startEmbeddedNode({ modelsDir: MODELS_DIR, ollamaStoreDirs: false, threads: 1, log });
  client = new Ollama({ host: node.url });
});

afterAll(async () => {
  await node?.close();
});

/** Tells whether `text` is the start of some JSON value. */
function isJsonPrefix(text: string): boolean {
  // Close any open string and every open bracket, then parse.
  const closers: string[] = [];
  let inString = false;
  let escaped = false;
  for (const char of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (char === '\\') escaped = true;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === '{') closers.push('}');
    else if (char === '[') closers.push(']');
    else if (char === '}' || char === ']') closers.pop();
  }

  let completed = text;
  if (escaped) completed = completed.slice(0, -1);
  if (inString) completed += '"';
  completed = completed.replace(/[,:]\s*$/, (match) => (match.startsWith(':') ? ': null' : ''));
  if (/{\s*"(?:[^"\\]|\\.)*"\s*$/.test(completed) || /,\s*"(?:[^"\\]|\\.)*"\s*$/.test(completed)) {
    if (closers.at(-1) === '}') completed += ': null';
  }
  completed += closers.reverse().join('');

  try {
    JSON.parse(completed);
    return true;
  } catch {
    return false;
  }
}

describe.each(MODELS)('embedded node with %s', (model) => {
  it('streams chat as NDJSON with final stats', async () => {
    const stream = await client.chat({
      model,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Hello there' },
      ],
      stream: true,
      options: { num_predict: 12, seed: 7 },
    });
    const parts = [];
    for await (const part of stream) parts.push(part);

    const last = parts.at(-1)!;
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.slice(0, -1).every((part) => part.done === false)).toBe(true);
    expect(parts.slice(0, -1).every((part) => part.message.role === 'assistant')).toBe(true);
    expect(last.done).toBe(true);
    expect(last.done_reason).toBe('length');
    expect(last.model).toBe(model);
    expect(last.eval_count).toBe(12);
    expect(last.prompt_eval_count).toBeGreaterThan(0);
    expect(last.total_duration).toBeGreaterThan(last.eval_duration);
    expect(last.eval_duration).toBeGreaterThan(0);
    expect(last.prompt_eval_duration).toBeGreaterThan(0);
    expect(typeof last.load_duration).toBe('number');
  });

  it('answers non-streaming chat with one object', async () => {
    const reply = await client.chat({
      model,
      messages: [{ role: 'user', content: 'Hi' }],
      stream: false,
      options: { num_predict: 6 },
    });
    expect(reply.done).toBe(true);
    expect(reply.message.role).toBe('assistant');
    expect(reply.message.content.length).toBeGreaterThan(0);
    expect(reply.eval_count).toBe(6);
  });

  it('streams generate and returns context tokens', async () => {
    const stream = await client.generate({ model, prompt: 'Once upon a time', stream: true, options: { num_predict: 8 } });
    let text = '';
    let last;
    for await (const part of stream) {
      text += part.response;
      last = part;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(last!.done).toBe(true);
    expect(last!.eval_count).toBe(8);
    expect(last!.context!.length).toBeGreaterThanOrEqual(last!.prompt_eval_count + 7);
  });

  it('answers non-streaming raw generate', async () => {
    const reply = await client.generate({ model, prompt: 'abc', raw: true, stream: false, options: { num_predict: 4 } });
    expect(reply.done).toBe(true);
    expect(reply.done_reason).toBe('length');
    expect(reply.response!.length).toBeGreaterThan(0);
  });

  it('repeats output for one seed at temperature 0.8', async () => {
    const request = { model, prompt: 'seed test', stream: false as const, options: { num_predict: 10, seed: 42 } };
    const first = await client.generate(request);
    const second = await client.generate(request);
    expect(second.response).toBe(first.response);
  });

  it('stops at a stop sequence', async () => {
    const free = await client.generate({ model, prompt: 'stop test', stream: false, options: { num_predict: 20, seed: 3 } });
    const stopAt = free.response!.slice(4, 7);
    expect(stopAt.length).toBe(3);
    const stopped = await client.generate({
      model,
      prompt: 'stop test',
      stream: false,
      options: { num_predict: 20, seed: 3, stop: [stopAt] },
    });
    expect(stopped.done_reason).toBe('stop');
    expect(stopped.response!.includes(stopAt)).toBe(false);
    expect(free.response!.startsWith(stopped.response!)).toBe(true);
  });

  it('constrains format json to JSON', async () => {
    const reply = await client.generate({ model, prompt: 'data', format: 'json', stream: false, options: { num_predict: 40, seed: 1 } });
    // A random-weight model rarely closes a JSON string, so the output is checked as a JSON prefix.
    expect(reply.response!.trimStart().startsWith('{')).toBe(true);
    expect(isJsonPrefix(reply.response!)).toBe(true);
  });

  it('follows a JSON schema format', async () => {
    const schema = {
      type: 'object',
      properties: { ok: { type: 'boolean' }, kind: { enum: ['a', 'b'] } },
      required: ['ok', 'kind'],
    };
    const reply = await client.chat({
      model,
      messages: [{ role: 'user', content: 'status?' }],
      format: schema,
      stream: false,
      options: { num_predict: 100, seed: 5 },
    });
    const value = JSON.parse(reply.message.content);
    expect(typeof value.ok).toBe('boolean');
    expect(['a', 'b']).toContain(value.kind);
  });

  it('embeds inputs as unit vectors in order', async () => {
    const reply = await client.embed({ model, input: ['first text', 'second', 'first text'] });
    expect(reply.model).toBe(model);
    expect(reply.embeddings).toHaveLength(3);
    for (const vector of reply.embeddings) {
      const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
      expect(norm).toBeCloseTo(1, 5);
    }
    expect(reply.embeddings[2]).toEqual(reply.embeddings[0]);
    expect(reply.embeddings[1]).not.toEqual(reply.embeddings[0]);
    expect(reply.prompt_eval_count).toBeGreaterThan(0);
  });

  it('embeds empty input as an empty list', async () => {
    expect((await client.embed({ model, input: [] })).embeddings).toEqual([]);
    expect((await client.embed({ model, input: '' })).embeddings).toEqual([]);
  });

  it('returns raw embeddings from the older endpoint', async () => {
    const raw = await client.embeddings({ model, prompt: 'first text' });
    const unit = await client.embed({ model, input: 'first text' });
    const norm = Math.sqrt(raw.embedding.reduce((sum, value) => sum + value * value, 0));
    expect(raw.embedding.length).toBe(unit.embeddings[0].length);
    expect(norm).not.toBeCloseTo(1, 3);
    expect(raw.embedding[0] / norm).toBeCloseTo(unit.embeddings[0][0], 5);
  });

  it('shows model info with block count', async () => {
    const info = await client.show({ model });
    // The client types model_info as a Map, but it is the parsed JSON object.
    const modelInfo = info.model_info as unknown as Record<string, unknown>;
    const blocks = model === 'tiny-llama-8L' ? 8 : 1;
    expect(modelInfo['general.architecture']).toBe('llama');
    expect(modelInfo['llama.block_count']).toBe(blocks);
    expect(info.details.family).toBe('llama');
    expect(info.details.format).toBe('gguf');
    expect(info.capabilities).toContain('completion');
    expect(typeof info.template).toBe('string');
  });
});

describe('embedded node model management', () => {
  it('lists both models with details', async () => {
    const { models } = await client.list();
    const names = models.map((entry) => entry.name).sort();
    expect(names).toEqual(['llama-2-tiny-random:latest', 'tiny-llama-8L:latest']);
    for (const entry of models) {
      expect(entry.digest).toMatch(/^[0-9a-f]{64}$/);
      expect(entry.size).toBeGreaterThan(1_000_000);
      expect(entry.details.quantization_level).toBe('F16');
      expect(entry.details.parameter_size).not.toBe('');
    }
  });

  it('reports loaded models in ps with CPU placement', async () => {
    await client.generate({ model: 'tiny-llama-8L', prompt: 'x', stream: false, options: { num_predict: 1 } });
    const { models } = await client.ps();
    const entry = models.find((item) => item.name === 'tiny-llama-8L:latest');
    expect(entry).toBeDefined();
    expect(entry!.size_vram).toBe(0);
    expect((entry as unknown as { context_length: number }).context_length).toBe(2048);
    expect(new Date(entry!.expires_at).getTime()).toBeGreaterThan(Date.now() + 4 * 60_000);
  });

  it('reloads on a changed num_ctx', async () => {
    const reply = await client.generate({ model: 'tiny-llama-8L', prompt: 'x', stream: false, options: { num_predict: 1, num_ctx: 512 } });
    expect(reply.load_duration).toBeGreaterThan(0);
    const entry = (await client.ps()).models.find((item) => item.name === 'tiny-llama-8L:latest');
    expect((entry as unknown as { context_length: number }).context_length).toBe(512);

    const again = await client.generate({ model: 'tiny-llama-8L', prompt: 'x', stream: false, options: { num_predict: 1, num_ctx: 512 } });
    expect(again.load_duration).toBe(0);
  });

  it('reloads on a changed num_gpu', async () => {
    const reply = await client.generate({ model: 'tiny-llama-8L', prompt: 'x', stream: false, options: { num_predict: 1, num_ctx: 512, num_gpu: 0 } });
    expect(reply.load_duration).toBeGreaterThan(0);
    const entry = (await client.ps()).models.find((item) => item.name === 'tiny-llama-8L:latest');
    expect(entry!.size_vram).toBe(0);
  });

  it('resolves names the way Ollama does', async () => {
    for (const name of ['tiny-llama-8L:latest', 'TINY-LLAMA-8L', 'registry.ollama.ai/library/tiny-llama-8L:latest']) {
      const reply = await client.generate({ model: name, prompt: 'x', stream: false, options: { num_predict: 1 } });
      expect(reply.model).toBe(name);
    }
    await expect(client.generate({ model: 'tiny-llama-8L:1b', prompt: 'x', stream: false })).rejects.toMatchObject({
      status_code: 404,
      error: "model 'tiny-llama-8L:1b' not found",
    });
  });

  it('unloads with keep_alive 0', async () => {
    await client.generate({ model: 'llama-2-tiny-random', prompt: 'x', stream: false, options: { num_predict: 1 } });
    expect((await client.ps()).models.map((item) => item.name)).toContain('llama-2-tiny-random:latest');
    await client.generate({ model: 'llama-2-tiny-random', prompt: 'x', stream: false, keep_alive: 0, options: { num_predict: 1 } });
    expect((await client.ps()).models.map((item) => item.name)).not.toContain('llama-2-tiny-random:latest');
  });

  it('unloads an idle model with an empty prompt and keep_alive 0', async () => {
    await client.generate({ model: 'llama-2-tiny-random', prompt: '', stream: false });
    expect((await client.ps()).models.map((item) => item.name)).toContain('llama-2-tiny-random:latest');
    const reply = await client.generate({ model: 'llama-2-tiny-random', prompt: '', keep_alive: 0, stream: false });
    expect(reply.done_reason).toBe('unload');
    expect((await client.ps()).models.map((item) => item.name)).not.toContain('llama-2-tiny-random:latest');
  });

  it('unloads when keep_alive expires', async () => {
    await client.generate({ model: 'llama-2-tiny-random', prompt: 'x', stream: false, keep_alive: '1s', options: { num_predict: 1 } });
    expect((await client.ps()).models.map((item) => item.name)).toContain('llama-2-tiny-random:latest');
    await new Promise((done) => setTimeout(done, 1_600));
    expect((await client.ps()).models.map((item) => item.name)).not.toContain('llama-2-tiny-random:latest');
  });

  it('stops generating when the client aborts', async () => {
    const options = { num_predict: -1, seed: 1 };
    const stream = await client.generate({ model: 'tiny-llama-8L', prompt: 'long', stream: true, options });
    let parts = 0;
    const iterate = async () => {
      for await (const part of stream) {
        expect(part.done).toBe(false);
        parts += 1;
        if (parts === 3) stream.abort();
      }
    };
    await expect(iterate()).rejects.toMatchObject({ name: 'AbortError' });
    expect(parts).toBe(3);

    // With one slot, the next request starts only once the aborted one has freed it.
    const started = Date.now();
    const next = await client.generate({ model: 'tiny-llama-8L', prompt: 'short', stream: false, options: { num_predict: 2 } });
    expect(next.done).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(logLines.some((line) => line.includes('Generation cancelled: client disconnected'))).toBe(true);
  });
});
