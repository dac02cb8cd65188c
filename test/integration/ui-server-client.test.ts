import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ApiFailure, ApiRegistry } from '../../electron/control/core/api-registry';
import { EventBus } from '../../electron/control/core/event-bus';
import { createSilentLogger } from '../../electron/control/core/logger';
import { startUiServer, type UiServer } from '../../electron/control/ui-server';
import { createHttpClient } from '../../renderer/src/client/http-client';
import type { ConnectionState, EventFrame } from '../../renderer/src/client/types';

const TOKEN = 'client-token-0123456789abcdef';

let staticDir: string;
let api: ApiRegistry;

function waitFor<T>(read: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  return new Promise((resolvePromise, rejectPromise) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const value = read();
      if (value !== undefined) {
        clearInterval(timer);
        resolvePromise(value);
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        rejectPromise(new Error(`condition not met within ${timeoutMs} ms`));
      }
    }, 10);
  });
}

beforeAll(async () => {
  staticDir = await mkdtemp(join(tmpdir(), 'ui-client-'));
  await writeFile(join(staticDir, 'index.html'), '<!doctype html>');
  api = new ApiRegistry(createSilentLogger());
  api.handle('chat:get', ({ id }) => {
    throw new ApiFailure('not_found', `conversation '${id}' not found`);
  });
  api.handle('stats:figures', () => ({ at: '2026-01-01T00:00:00.000Z', totalRequests: 3, nodes: [] }));
});

afterAll(async () => {
  await rm(staticDir, { recursive: true, force: true });
});

describe('http client against the ui server', () => {
  let server: UiServer;
  let bus: EventBus;

  beforeAll(async () => {
    bus = new EventBus();
    server = await startUiServer({ api, bus, port: 0, token: TOKEN, staticDir, log: createSilentLogger() });
  });
  afterAll(async () => {
    await server.close();
  });

  it('invokes a channel with the bearer token', async () => {
    const client = createHttpClient({ baseUrl: server.url, token: TOKEN, WebSocketImpl: WebSocket as never });
    const result = await client.invoke('stats:figures', {});
    expect(result).toEqual({ ok: true, value: { at: '2026-01-01T00:00:00.000Z', totalRequests: 3, nodes: [] } });
  });

  it('returns unauthorized without the token', async () => {
    const client = createHttpClient({ baseUrl: server.url, WebSocketImpl: WebSocket as never });
    const result = await client.invoke('stats:figures', {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('unauthorized');
  });

  it('returns invalid_argument for a bad argument', async () => {
    const client = createHttpClient({ baseUrl: server.url, token: TOKEN, WebSocketImpl: WebSocket as never });
    const result = await client.invoke('chat:get', { id: '' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('invalid_argument');
  });

  it('returns the handler error code', async () => {
    const client = createHttpClient({ baseUrl: server.url, token: TOKEN, WebSocketImpl: WebSocket as never });
    const result = await client.invoke('chat:get', { id: 'c404' });
    expect(result).toEqual({ ok: false, error: { code: 'not_found', message: "conversation 'c404' not found" } });
  });

  it('receives bus events', async () => {
    const client = createHttpClient({ baseUrl: server.url, token: TOKEN, WebSocketImpl: WebSocket as never });
    const frames: EventFrame[] = [];
    let state: ConnectionState = 'closed';
    const stopConnection = client.onConnection((next) => (state = next));
    const stop = client.on((frame) => frames.push(frame));
    try {
      await waitFor(() => (state === 'open' ? true : undefined));
      bus.emit('node:removed', { id: 'a' });
      const frame = await waitFor(() => frames[0]);
      expect(frame).toEqual({ type: 'node:removed', payload: { id: 'a' } });
    } finally {
      stop();
      stopConnection();
    }
  });
});

describe('http client reconnect', () => {
  it('reconnects after the server restarts on the same port', async () => {
    let bus = new EventBus();
    let server = await startUiServer({ api, bus, port: 0, staticDir, log: createSilentLogger() });
    const port = server.port;
    const client = createHttpClient({
      baseUrl: server.url,
      WebSocketImpl: WebSocket as never,
      reconnectMinMs: 20,
      reconnectMaxMs: 100,
    });
    const states: ConnectionState[] = [];
    const frames: EventFrame[] = [];
    const stopConnection = client.onConnection((next) => states.push(next));
    const stop = client.on((frame) => frames.push(frame));
    try {
      await waitFor(() => (states.includes('open') ? true : undefined));
      await server.close();
      await waitFor(() => (states.at(-1) !== 'open' ? true : undefined));

      bus = new EventBus();
      server = await startUiServer({ api, bus, port, staticDir, log: createSilentLogger() });
      await waitFor(() => (states.filter((state) => state === 'open').length >= 2 ? true : undefined));
      bus.emit('node:removed', { id: 'after-restart' });
      const frame = await waitFor(() => frames.find((entry) => (entry.payload as { id: string }).id === 'after-restart'));
      expect(frame.type).toBe('node:removed');
    } finally {
      stop();
      stopConnection();
      await server.close();
    }
  });

  it('reports an unreachable server as unavailable', async () => {
    const server = await startUiServer({ api, bus: new EventBus(), port: 0, staticDir, log: createSilentLogger() });
    const url = server.url;
    await server.close();
    const client = createHttpClient({ baseUrl: url, WebSocketImpl: WebSocket as never });
    const result = await client.invoke('stats:figures', {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('unavailable');
    if (!result.ok) expect(result.error.message).toContain('stats:figures');
  });
});
