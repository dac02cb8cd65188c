import { Agent, createServer, type Server } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openUpstream } from '../../electron/control/gateway/forward';

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

  it('resolves as cancelled at once when its signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const outcome = await openUpstream(input(`http://127.0.0.1:${port}`, '/api/chat'), controller.signal);
    expect(outcome.kind).toBe('cancelled');
  });
});
