import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../electron/control/core/logger';
import { OllamaAdapter } from '../../electron/control/llamacpp/adapter/server';

// A loopback HTTP server that replays llama-server's streaming chat format, so the adapter's
// translation and its error handling can be checked without building llama.cpp.
let upstream: Server;
let upstreamUrl = '';
let adapter: OllamaAdapter;
let ready = true;

function sse(res: import('node:http').ServerResponse, value: unknown): void {
  res.write(`data: ${JSON.stringify(value)}\n\n`);
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const request = JSON.parse(body) as { messages: Array<{ content: string }>; stream: boolean };
      const prompt = request.messages.at(-1)?.content ?? '';
      if (!request.stream) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            choices: [{ message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop' }],
            timings: { prompt_n: 3, prompt_ms: 2, predicted_n: 2, predicted_ms: 4 },
          }),
        );
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      sse(res, { choices: [{ delta: { content: 'Hel' }, finish_reason: null }] });
      // Split one event across two writes, as TCP may.
      res.write('data: {"choices":[{"delta":{"content":"lo"},');
      setTimeout(() => {
        res.write('"finish_reason":null}]}\n\n');
        if (prompt === 'die') {
          res.destroy();
          return;
        }
        sse(res, {
          choices: [{ delta: {}, finish_reason: 'stop' }],
          timings: { prompt_n: 3, prompt_ms: 2, predicted_n: 2, predicted_ms: 4 },
        });
        sse(res, { choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } });
        res.end('data: [DONE]\n\n');
      }, 20);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  adapter = new OllamaAdapter({
    log: createSilentLogger(),
    model: () => ({ name: 'tiny:latest', digest: 'abc', sizeBytes: 10, modifiedAt: '2026-01-01T00:00:00Z' }),
    status: () => ({
      upstream: ready ? upstreamUrl : null,
      unavailableReason: 'model is loading',
      takeLoadNs: () => 0,
      sizeVramBytes: 5,
    }),
  });
  await adapter.listen(0);
});

afterAll(async () => {
  await adapter.close();
  upstream.closeAllConnections();
  await new Promise<void>((r) => upstream.close(() => r()));
});

async function lines(res: Response): Promise<Array<Record<string, unknown>>> {
  return (await res.text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('OllamaAdapter', () => {
  it('streams NDJSON ending with done and figures', async () => {
    const res = await fetch(`${adapter.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'Tiny', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const out = await lines(res);
    expect(out.map((l) => (l.message as { content: string }).content).join('')).toBe('Hello');
    const last = out.at(-1)!;
    expect(last.done).toBe(true);
    expect(last.model).toBe('Tiny');
    expect(last.done_reason).toBe('stop');
    expect(last.eval_count).toBe(2);
    expect(last.eval_duration).toBe(4_000_000);
    expect(last.prompt_eval_count).toBe(3);
  });

  it('ends with an error line when upstream dies mid-stream', async () => {
    const res = await fetch(`${adapter.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'die' }] }),
    });
    expect(res.status).toBe(200);
    const out = await lines(res);
    expect(out.some((l) => l.done === true)).toBe(false);
    expect(typeof out.at(-1)!.error).toBe('string');
  });

  it('makes the ollama client throw on the error line', async () => {
    const client = new Ollama({ host: adapter.url });
    const stream = await client.chat({ model: 'tiny', messages: [{ role: 'user', content: 'die' }], stream: true });
    await expect(async () => {
      for await (const part of stream) void part;
    }).rejects.toThrow();
  });

  it('returns one object when stream is false', async () => {
    const client = new Ollama({ host: adapter.url });
    const res = await client.chat({ model: 'tiny', messages: [{ role: 'user', content: 'x' }], stream: false });
    expect(res.message.content).toBe('Hello');
    expect(res.done).toBe(true);
  });

  it('rejects bad requests the way Ollama does', async () => {
    const post = (path: string, body: string) => fetch(`${adapter.url}${path}`, { method: 'POST', body });
    const empty = await post('/api/chat', '');
    expect(empty.status).toBe(400);
    expect(await empty.json()).toEqual({ error: 'missing request body' });
    const noModel = await post('/api/chat', '{"messages":[]}');
    expect(noModel.status).toBe(400);
    expect(await noModel.json()).toEqual({ error: 'model is required' });
    const unknown = await post('/api/generate', '{"model":"other","prompt":"x"}');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "model 'other' not found" });
    const badJson = await post('/api/chat', '{');
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: string }).error).toMatch(/^invalid JSON body/);
    expect((await fetch(`${adapter.url}/api/chat`)).status).toBe(405);
    const missing = await fetch(`${adapter.url}/api/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('404 page not found');
  });

  it('answers heartbeat, version, tags and ps', async () => {
    expect((await fetch(adapter.url, { method: 'HEAD' })).status).toBe(200);
    expect(await (await fetch(adapter.url)).text()).toBe('Ollama is running');
    expect(((await (await fetch(`${adapter.url}/api/version`)).json()) as { version: string }).version).toMatch(/^0\.\d+\.\d+$/);
    const tags = (await (await fetch(`${adapter.url}/api/tags`)).json()) as { models: Array<Record<string, unknown>> };
    expect(tags.models[0]).toMatchObject({ name: 'tiny:latest', size: 10, digest: 'abc' });
    const ps = (await (await fetch(`${adapter.url}/api/ps`)).json()) as { models: Array<Record<string, unknown>> };
    expect(ps.models[0].size_vram).toBe(5);
  });

  it('returns 503 with the reason while llama-server is not ready', async () => {
    ready = false;
    try {
      const res = await fetch(`${adapter.url}/api/chat`, { method: 'POST', body: '{"model":"tiny","messages":[]}' });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: 'model is loading' });
      const ps = (await (await fetch(`${adapter.url}/api/ps`)).json()) as { models: unknown[] };
      expect(ps.models).toEqual([]);
    } finally {
      ready = true;
    }
  });
});
