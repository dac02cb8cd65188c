import { createServer } from 'node:http';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../electron/control/core/logger';
import { Gateway } from '../../electron/control/gateway/gateway';
import { rankCandidates } from '../../electron/control/router/score';
import type { ControlPlane } from '../../electron/control/plane';
import { addNode, cleanupHarness, FaultNode, nodeIdOf, startNode, startPlane, tinyLlama, type TestNode } from './gateway-harness';

const busyMessage = 'server busy, please try again.  maximum pending requests exceeded';
let real: TestNode;
let fault: FaultNode;
let plane: ControlPlane;
let gateway: string;

beforeAll(async () => {
  real = await startNode([tinyLlama]);
  fault = await new FaultNode(`${tinyLlama}:latest`).listen();
  plane = await startPlane();
  await addNode(plane, real.url, 'real');
  await addNode(plane, fault.url, 'faulty');
  gateway = plane.gateway.url()!;
});

afterAll(async () => {
  await plane?.stop();
  await fault?.close();
  await real?.close();
  await cleanupHarness();
});

/**
 * Runs `body` with router v1's ranking and no breakers, so the fault node, which answers fastest
 * and lists the model as loaded, is tried first even after earlier tests made it fail.
 */
async function withRouterV1(body: () => Promise<void>): Promise<void> {
  const { rank, hooks } = plane.router;
  plane.router.rank = rankCandidates;
  plane.router.hooks = {};
  try {
    await body();
  } finally {
    plane.router.rank = rank;
    plane.router.hooks = hooks;
  }
}

const post = (path: string, body: unknown, init: RequestInit = {}) =>
  fetch(`${gateway}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), ...init });

describe('busy node', () => {
  it('retries a 503 on another node', async () => {
    fault.handler = (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: busyMessage }));
    };
    const before = fault.requests.length;
    const response = await post('/api/generate', { model: tinyLlama, prompt: 'x', stream: false, options: { num_predict: 2 } });
    expect(response.status, JSON.stringify(plane.router.decisions(3))).toBe(200);
    expect(((await response.json()) as { done: boolean }).done).toBe(true);
    expect(fault.requests.length).toBe(before + 1);

    const [served, retried] = plane.router.decisions(2);
    expect(retried.nodeName).toBe('faulty');
    expect(retried.outcome).toBe('retried');
    expect(served.nodeName).toBe('real');
    expect(served.attempt).toBe(2);
    expect(served.outcome).toBe('ok');
  });

  it('returns the node 503 body when no other node can take the request', async () => {
    fault.handler = (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: busyMessage }));
    };
    const realId = nodeIdOf(plane, real.url);
    await real.close();
    await plane.nodes.check(realId);
    try {
      const response = await post('/api/generate', { model: tinyLlama, prompt: 'x' });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: busyMessage });
    } finally {
      real = await startNode([tinyLlama], real.port, real.modelsDir);
      await plane.nodes.check(realId);
    }
    expect(plane.nodes.get(realId)?.health).toBe('up');
  });

  it('forwards a client error from the node unchanged and does not retry it', async () => {
    fault.handler = (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid options"}');
    };
    const before = fault.requests.length;
    const response = await post('/api/generate', { model: tinyLlama, prompt: 'x' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid options' });
    expect(fault.requests.length).toBe(before + 1);
    expect(plane.router.decisions(1)[0].attempt).toBe(1);
  });
});

describe('abort of a non-streamed request', () => {
  it('closes the upstream request as soon as the client aborts', async () => {
    fault.handler = () => undefined;
    const controller = new AbortController();
    const pending = post('/api/chat', { model: tinyLlama, messages: [], stream: false }, { signal: controller.signal });
    await waitFor(() => fault.requests.at(-1)?.path === '/api/chat' && fault.requests.at(-1)!.closedAt === undefined, 5_000);
    const record = fault.requests.at(-1)!;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const abortedAt = Date.now();
    controller.abort();
    await expect(pending).rejects.toThrow();
    await waitFor(() => record.closedAt !== undefined, 2_000);
    expect(record.closedAt! - abortedAt).toBeLessThan(500);
    await waitFor(() => plane.router.traffic(nodeIdOf(plane, fault.url)).inFlight === 0, 2_000);
    expect(plane.router.decisions(1)[0].outcome).toBe('cancelled');
  });
});

describe('request bodies', () => {
  it('forwards a 100 MB body byte for byte', async () => {
    fault.handler = (_req, res, body) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes: body.length, tail: body.subarray(-20).toString() }));
    };
    const filler = 'a'.repeat(100 * 1024 * 1024);
    const text = `{"model":"${tinyLlama}","prompt":"${filler}","stream":false}`;
    const response = await post('/api/generate', text);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { bytes: number; tail: string };
    expect(body.bytes).toBe(Buffer.byteLength(text));
    expect(body.tail).toBe(text.slice(-20));
  });

  it('forwards the priority header into the route request and not to the node', async () => {
    let seen: string | undefined = 'unset';
    fault.handler = (req, res) => {
      seen = req.headers['x-synaptic-priority'] as string | undefined;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"done":true}');
    };
    await withRouterV1(async () => {
      await post('/api/generate', { model: tinyLlama, prompt: 'x' }, { headers: { 'X-Synaptic-Priority': '9' } });
    });
    expect(plane.router.decisions(1)[0].factors.priority).toBe(9);
    expect(seen).toBeUndefined();
  });
});

describe('gateway loops', () => {
  it('answers 508 to a request that already passed through this gateway', async () => {
    const response = await post('/api/generate', { model: tinyLlama, prompt: 'x' }, { headers: { 'x-synaptic-via': `other, ${plane.gateway.instanceId}` } });
    expect(response.status).toBe(508);
    expect(((await response.json()) as { error: string }).error).toContain('request loop');
  });

  it('adds its own id to the via header it sends to nodes', async () => {
    let via: string | undefined;
    fault.handler = (req, res) => {
      via = req.headers['x-synaptic-via'] as string;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"done":true}');
    };
    await post('/api/generate', { model: tinyLlama, prompt: 'x' }, { headers: { 'x-synaptic-via': 'upstream-gw' } });
    expect(via).toBe(`upstream-gw, ${plane.gateway.instanceId}`);
  });
});

describe('first-byte timeout', () => {
  it('tries another node when the first sends no headers in time', async () => {
    await withRouterV1(async () => {
    const log = createSilentLogger();
    const slowGateway = new Gateway({ router: plane.router, fleet: () => plane.nodes.list(), log, firstByteTimeoutMs: 300 });
    const status = await slowGateway.listen('127.0.0.1', 0);
    try {
      await fetch(`${real.url}/api/generate`, {
        method: 'POST',
        body: JSON.stringify({ model: tinyLlama, prompt: 'warm up', stream: false, options: { num_predict: 1 } }),
      });
      fault.handler = () => undefined;
      const response = await fetch(`http://127.0.0.1:${status.port}/api/generate`, {
        method: 'POST',
        body: JSON.stringify({ model: tinyLlama, prompt: 'x', stream: false, options: { num_predict: 2 } }),
      });
      expect(response.status).toBe(200);
      const [served, timedOut] = plane.router.decisions(2);
      expect(timedOut.nodeName).toBe('faulty');
      expect(timedOut.error).toContain('no response within 300 ms');
      expect(served.nodeName).toBe('real');
    } finally {
      await slowGateway.close();
    }
    });
  });
});

describe('gateway listening and auth', () => {
  it('takes the fallback port when the port is in use and says so', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    const other = new Gateway({ router: plane.router, fleet: () => plane.nodes.list(), log: createSilentLogger() });
    try {
      const status = await other.listen('127.0.0.1', taken, 0);
      expect(status.listening).toBe(true);
      expect(status.fallbackUsed).toBe(true);
      expect(status.port).not.toBe(taken);
      expect(status.message).toContain(`port ${taken} was in use`);
    } finally {
      await other.close();
      blocker.close();
    }
  });

  it('reports a port in use without a fallback as not listening', async () => {
    const other = new Gateway({ router: plane.router, fleet: () => plane.nodes.list(), log: createSilentLogger() });
    const status = await other.listen('127.0.0.1', plane.gateway.status().port!);
    expect(status.listening).toBe(false);
    expect(status.message).toContain('EADDRINUSE');
    await other.close();
  });

  it('requires the bearer token', async () => {
    let forwardedAuth: string | undefined = 'unset';
    fault.handler = (req, res) => {
      forwardedAuth = req.headers.authorization;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"done":true}');
    };
    const token = 'test-token-0123456789abcdef';
    const secured = new Gateway({ router: plane.router, fleet: () => plane.nodes.list(), log: createSilentLogger(), token });
    const status = await secured.listen('127.0.0.1', 0);
    const base = `http://127.0.0.1:${status.port}`;
    try {
      const denied = await fetch(`${base}/api/tags`);
      expect(denied.status).toBe(401);
      expect(((await denied.json()) as { error: string }).error).toContain('Authorization: Bearer');
      expect((await fetch(`${base}/api/tags`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);

      const client = new Ollama({ host: base, headers: { Authorization: `Bearer ${token}` } });
      const { models } = await client.list();
      expect(models.length).toBeGreaterThan(0);
      await withRouterV1(async () => {
        await fetch(`${base}/api/generate`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
          body: JSON.stringify({ model: tinyLlama, prompt: 'x' }),
        });
      });
      expect(forwardedAuth).toBeUndefined();
    } finally {
      await secured.close();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
