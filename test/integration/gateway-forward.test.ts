import { Agent, createServer, type Server } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openUpstream, relayResponse, type Forwarded } from '../../electron/control/gateway/forward';

let server: Server;
let port = 0;
const seen: string[] = [];
const agents = { http: new Agent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.url ?? '');
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  agents.http.destroy();
  await new Promise((resolve) => server.close(resolve));
});

function input(nodeUrl: string, path: string) {
  return { nodeUrl, path, method: 'POST', headers: {}, body: Buffer.from('{}'), agents, firstByteTimeoutMs: 5_000, mayRetry: true };
}

describe('openUpstream', () => {
  it('keeps the base path of a node that sits under a prefix', async () => {
    const opened = await openUpstream(input(`http://127.0.0.1:${port}/ollama`, '/api/chat?x=1'));
    expect(opened.kind).toBe('opened');
    if (opened.kind === 'opened') opened.response.resume();
    expect(seen.at(-1)).toBe('/ollama/api/chat?x=1');
  });

  it('sends a node without a prefix the path unchanged', async () => {
    const opened = await openUpstream(input(`http://127.0.0.1:${port}`, '/api/generate'));
    expect(opened.kind).toBe('opened');
    if (opened.kind === 'opened') opened.response.resume();
    expect(seen.at(-1)).toBe('/api/generate');
  });

  it('reports a refused connection as retryable with the error code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const outcome = await openUpstream(input(`http://127.0.0.1:${deadPort}`, '/api/chat'));
    expect(outcome.kind).toBe('retryable');
    if (outcome.kind === 'retryable') expect(outcome.error).toContain('ECONNREFUSED');
  });

  it('resends once when a kept-alive socket turns out closed', async () => {
    const perSocket = new WeakMap<object, number>();
    let connections = 0;
    const flaky = createServer((req, res) => {
      const served = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, served);
      req.resume();
      // The second request on a connection meets the node closing it, as after an idle timeout.
      if (served > 1) return void req.socket.destroy();
      req.on('end', () => res.end('{}'));
    });
    flaky.on('connection', () => (connections += 1));
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(flaky.address() as { port: number }).port}`;
    try {
      for (let i = 0; i < 2; i++) {
        const outcome = await openUpstream(input(url, '/api/chat'));
        expect(outcome.kind).toBe('opened');
        if (outcome.kind === 'opened') await new Promise((resolve) => outcome.response.resume().on('end', resolve));
      }
      expect(connections).toBe(2);
    } finally {
      flaky.closeAllConnections();
      await new Promise((resolve) => flaky.close(resolve));
    }
  });

  it('resolves as cancelled at once when its signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const outcome = await openUpstream(input(`http://127.0.0.1:${port}`, '/api/chat'), controller.signal);
    expect(outcome.kind).toBe('cancelled');
  });
});

describe('relayResponse', () => {
  it('reads token counts from a body split in chunks', async () => {
    const text = 'x'.repeat(200_000);
    const node = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      // A long non-streamed body reaches the gateway in many chunks, and the counters are in the last.
      res.write(`{"model":"m","response":"${text}","done":true,`);
      setTimeout(() => res.end('"eval_count":42,"eval_duration":7000000}'), 20);
    });
    await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
    const nodeUrl = `http://127.0.0.1:${(node.address() as { port: number }).port}`;
    const results: Forwarded[] = [];
    const relay = createServer(async (req, res) => {
      req.resume();
      const opened = await openUpstream(input(nodeUrl, '/api/generate'));
      if (opened.kind === 'opened') results.push(await relayResponse(opened, res));
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(relay.address() as { port: number }).port}/`, { method: 'POST', body: '{}' });
      const body = (await response.json()) as { response: string };
      expect(body.response).toHaveLength(text.length);
      expect(results[0].result.evalCount).toBe(42);
      expect(results[0].result.evalDurationNs).toBe(7_000_000);
    } finally {
      relay.closeAllConnections();
      node.closeAllConnections();
      await new Promise((resolve) => relay.close(resolve));
      await new Promise((resolve) => node.close(resolve));
    }
  });
});
