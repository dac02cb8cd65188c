import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ApiFailure, ApiRegistry } from '../../electron/control/core/api-registry';
import { EventBus } from '../../electron/control/core/event-bus';
import { createRootLogger, createSilentLogger } from '../../electron/control/core/logger';
import { startUiServer, type UiServer } from '../../electron/control/ui-server';
import type { NodeView } from '../../shared/types';

const TOKEN = 'test-token-0123456789abcdef';

let workDir: string;
let staticDir: string;

function nodeView(url: string): NodeView {
  return {
    id: 'n1',
    url,
    name: 'node-1',
    kind: 'ollama',
    health: 'up',
    consecutiveFailures: 0,
    models: [],
    loaded: [],
    inFlight: 0,
    problems: [],
  };
}

function makeApi(): ApiRegistry {
  const api = new ApiRegistry(createSilentLogger());
  api.handle('nodes:list', () => [nodeView('http://127.0.0.1:1')]);
  api.handle('nodes:add', ({ url }) => {
    if (!url.startsWith('http')) throw new ApiFailure('invalid_argument', `invalid node URL '${url}'`);
    return nodeView(url);
  });
  return api;
}

type Envelope = {
  ok: boolean;
  value?: { name?: string; url?: string }[] & { url?: string };
  error: { code: string; message: string };
};

async function readEnvelope(response: Response): Promise<Envelope> {
  return (await response.json()) as Envelope;
}

/** Raw request so paths reach the server exactly as written (fetch would normalise `..`). */
function rawGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolvePromise, rejectPromise) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', rejectPromise);
    req.end();
  });
}

function nextMessage(ws: WebSocket): Promise<unknown> {
  return new Promise((resolvePromise, rejectPromise) => {
    ws.once('message', (data) => resolvePromise(JSON.parse(String(data))));
    ws.once('error', rejectPromise);
  });
}

function openSocket(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolvePromise, rejectPromise) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolvePromise(ws));
    ws.once('error', rejectPromise);
    ws.once('unexpected-response', (_req, res) => rejectPromise(new Error(`status ${res.statusCode}`)));
  });
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'ui-server-'));
  staticDir = join(workDir, 'ui');
  await mkdir(join(staticDir, 'assets'), { recursive: true });
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>app</title>');
  await writeFile(join(staticDir, 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(staticDir, 'assets', 'app.css'), 'body{}');
  await writeFile(join(workDir, 'secret.txt'), 'SECRET-CONTENT');
  await symlink(join(workDir, 'secret.txt'), join(staticDir, 'assets', 'link.txt'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('ui server without a token', () => {
  let server: UiServer;
  let bus: EventBus;

  beforeAll(async () => {
    bus = new EventBus();
    server = await startUiServer({ api: makeApi(), bus, port: 0, staticDir, log: createSilentLogger() });
  });
  afterAll(async () => {
    await server.close();
  });

  it('binds loopback on a free port', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    expect(server.port).toBeGreaterThan(0);
  });

  it('serves index.html with a CSP', async () => {
    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toContain('<title>app</title>');
  });

  it('serves assets with their content types', async () => {
    const js = await fetch(new URL('assets/app.js', server.url));
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const css = await fetch(new URL('assets/app.css', server.url));
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('falls back to index.html for view paths', async () => {
    const response = await fetch(new URL('chat', server.url));
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<title>app</title>');
  });

  it('answers 404 for a missing asset', async () => {
    const response = await fetch(new URL('assets/missing.js', server.url));
    expect(response.status).toBe(404);
  });

  it.each([
    ['/../secret.txt'],
    ['/%2e%2e/secret.txt'],
    ['/assets/%2e%2e/%2e%2e/secret.txt'],
    ['/..%2fsecret.txt'],
    ['/assets/..%5c..%5csecret.txt'],
  ])('rejects traversal path %s', async (path) => {
    const response = await rawGet(server.port, path);
    expect([400, 404]).toContain(response.status);
    expect(response.body).not.toContain('SECRET-CONTENT');
  });

  it('does not follow a symlink out of the folder', async () => {
    const response = await rawGet(server.port, '/assets/link.txt');
    expect(response.status).toBe(404);
    expect(response.body).not.toContain('SECRET-CONTENT');
  });

  it('rpc returns the ok envelope', async () => {
    const response = await fetch(new URL('rpc/nodes:list', server.url), { method: 'POST' });
    expect(response.status).toBe(200);
    const body = await readEnvelope(response);
    expect(body.ok).toBe(true);
    expect(body.value?.[0]?.name).toBe('node-1');
  });

  it('rpc passes the JSON body as the argument', async () => {
    const response = await fetch(new URL('rpc/nodes:add', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:5555' }),
    });
    const body = await readEnvelope(response);
    expect(body).toMatchObject({ ok: true, value: { url: 'http://127.0.0.1:5555' } });
  });

  it('rpc returns handler errors with their code', async () => {
    const response = await fetch(new URL('rpc/nodes:add', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'ftp://x' }),
    });
    expect(response.status).toBe(400);
    expect(await readEnvelope(response)).toEqual({
      ok: false,
      error: { code: 'invalid_argument', message: "invalid node URL 'ftp://x'" },
    });
  });

  it('rpc names the failing field of a bad argument', async () => {
    const response = await fetch(new URL('rpc/nodes:add', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 42 }),
    });
    expect(response.status).toBe(400);
    const body = await readEnvelope(response);
    expect(body.error.code).toBe('invalid_argument');
    expect(body.error.message).toContain('url');
  });

  it('rpc rejects invalid JSON with 400', async () => {
    const response = await fetch(new URL('rpc/nodes:add', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"url": ',
    });
    expect(response.status).toBe(400);
    const body = await readEnvelope(response);
    expect(body.ok).toBe(false);
    expect(body.error.code).toBe('invalid_argument');
    expect(body.error.message).toContain('invalid JSON');
    expect(body.error.message).toContain('nodes:add');
  });

  it('rpc answers 404 for an unknown channel', async () => {
    const response = await fetch(new URL('rpc/nodes:explode', server.url), { method: 'POST' });
    expect(response.status).toBe(404);
    const body = await readEnvelope(response);
    expect(body.error.code).toBe('unknown_channel');
    expect(body.error.message).toContain('nodes:explode');
  });

  it('rpc rejects a body over the limit with 413', async () => {
    const response = await fetch(new URL('rpc/nodes:add', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect((await readEnvelope(response)).error.code).toBe('invalid_argument');
  });

  it('rpc rejects GET with 405', async () => {
    const response = await fetch(new URL('rpc/nodes:list', server.url));
    expect(response.status).toBe(405);
    expect((await readEnvelope(response)).ok).toBe(false);
  });

  it('rpc rejects a cross-origin request', async () => {
    const response = await fetch(new URL('rpc/nodes:list', server.url), {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
    });
    expect(response.status).toBe(403);
  });

  it('rejects a non-loopback Host header', async () => {
    const response = await rawGet(server.port, '/', { host: 'rebind.example:80' });
    expect(response.status).toBe(403);
  });

  it('streams bus events over /events', async () => {
    const ws = await openSocket(server.url.replace('http', 'ws') + 'events');
    try {
      const message = nextMessage(ws);
      bus.emit('node:removed', { id: 'n9' });
      expect(await message).toEqual({ type: 'node:removed', payload: { id: 'n9' } });
    } finally {
      ws.close();
    }
  });
});

describe('ui server with a token', () => {
  let server: UiServer;
  let bus: EventBus;
  const logged: string[] = [];

  beforeAll(async () => {
    bus = new EventBus();
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        logged.push(String(chunk));
        callback();
      },
    });
    server = await startUiServer({
      api: makeApi(),
      bus,
      port: 0,
      token: TOKEN,
      staticDir,
      log: createRootLogger({ level: 'debug', destination }),
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('rpc without a token is 401', async () => {
    const response = await fetch(new URL('rpc/nodes:list', server.url), { method: 'POST' });
    expect(response.status).toBe(401);
    const text = await response.text();
    expect(JSON.parse(text).error.code).toBe('unauthorized');
    expect(text).not.toContain(TOKEN);
  });

  it('rpc with a wrong token is 401', async () => {
    const response = await fetch(new URL('rpc/nodes:list', server.url), {
      method: 'POST',
      headers: { authorization: 'Bearer wrong-token-0123456789' },
    });
    expect(response.status).toBe(401);
  });

  it('rpc with the bearer token is 200', async () => {
    const response = await fetch(new URL('rpc/nodes:list', server.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(200);
  });

  it('page without a token is 401', async () => {
    const response = await fetch(server.url);
    expect(response.status).toBe(401);
    expect(await response.text()).not.toContain(TOKEN);
  });

  it('page with ?token= sets a cookie that loads assets', async () => {
    const page = await fetch(`${server.url}?token=${TOKEN}`);
    expect(page.status).toBe(200);
    const cookie = page.headers.get('set-cookie') ?? '';
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const asset = await fetch(new URL('assets/app.js', server.url), {
      headers: { cookie: cookie.split(';')[0] },
    });
    expect(asset.status).toBe(200);
  });

  it('rpc accepts the cookie only from our own origin', async () => {
    const cookie = `synaptic_token=${encodeURIComponent(TOKEN)}`;
    const sameOrigin = await fetch(new URL('rpc/nodes:list', server.url), {
      method: 'POST',
      headers: { cookie, origin: server.url.replace(/\/$/, '') },
    });
    expect(sameOrigin.status).toBe(200);
    const noOrigin = await fetch(new URL('rpc/nodes:list', server.url), { method: 'POST', headers: { cookie } });
    expect(noOrigin.status).toBe(401);
    const otherOrigin = await fetch(new URL('rpc/nodes:list', server.url), {
      method: 'POST',
      headers: { cookie, origin: 'http://evil.example' },
    });
    expect(otherOrigin.status).toBe(403);
  });

  it('asset without token or cookie is 401', async () => {
    const response = await fetch(new URL('assets/app.js', server.url));
    expect(response.status).toBe(401);
  });

  it('event socket without a token is refused', async () => {
    await expect(openSocket(server.url.replace('http', 'ws') + 'events')).rejects.toThrow('401');
  });

  it('event socket with ?token= receives events', async () => {
    const ws = await openSocket(`${server.url.replace('http', 'ws')}events?token=${TOKEN}`);
    try {
      const message = nextMessage(ws);
      bus.emit('node:removed', { id: 'n2' });
      expect(await message).toEqual({ type: 'node:removed', payload: { id: 'n2' } });
    } finally {
      ws.close();
    }
  });

  it('never logs the token', () => {
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.join('\n')).not.toContain(TOKEN);
  });
});

describe('ui server options', () => {
  it('rejects a non-loopback host without a token', async () => {
    await expect(
      startUiServer({
        api: makeApi(),
        bus: new EventBus(),
        host: '0.0.0.0',
        port: 0,
        staticDir,
        log: createSilentLogger(),
      }),
    ).rejects.toThrow("host '0.0.0.0'");
  });

  it('rejects a short token', async () => {
    await expect(
      startUiServer({ api: makeApi(), bus: new EventBus(), port: 0, token: 'abc', staticDir, log: createSilentLogger() }),
    ).rejects.toThrow('token');
  });
});
