import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OriginPolicy, originsFromEnv } from '../../electron/control/gateway/cors';
import type { ControlPlane } from '../../electron/control/plane';
import { addNode, cleanupHarness, FaultNode, startPlane } from './gateway-harness';

let plane: ControlPlane;
let node: FaultNode;
const seenOrigins: Array<string | undefined> = [];

type Reply = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** Sends a raw request, since fetch may not let a caller set `Origin`. */
function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  const url = new URL(path, plane.gateway.url()!);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  node = await new FaultNode('corsmodel').listen();
  node.handler = (req, res) => {
    seenOrigins.push(req.headers.origin);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"model":"corsmodel","response":"ok","done":true}');
  };
  plane = await startPlane({ allowedOrigins: ['https://app.example', 'chrome-extension://*'] });
  await addNode(plane, node.url, 'cors-node');
});

afterAll(async () => {
  await plane?.stop();
  await node?.close();
  await cleanupHarness();
});

const generate = JSON.stringify({ model: 'corsmodel', prompt: 'hi', stream: false });

describe('gateway CORS', () => {
  it('answers a preflight from a local page', async () => {
    const reply = await send('OPTIONS', '/api/chat', {
      Origin: 'http://localhost:5173',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type',
    });
    expect(reply.status).toBe(204);
    expect(reply.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(String(reply.headers['access-control-allow-methods'])).toContain('POST');
    expect(String(reply.headers['access-control-allow-headers']).toLowerCase()).toContain('content-type');
  });

  it('marks a local page response readable', async () => {
    const reply = await send('GET', '/api/tags', { Origin: 'http://127.0.0.1:3000' });
    expect(reply.status).toBe(200);
    expect(reply.headers['access-control-allow-origin']).toBe('http://127.0.0.1:3000');
    expect(reply.headers.vary).toContain('Origin');
  });

  it('rejects an unknown origin before routing', async () => {
    const before = node.requests.length;
    const reply = await send('POST', '/api/generate', { Origin: 'http://evil.example' }, generate);
    expect(reply.status).toBe(403);
    expect(reply.body).toBe('');
    expect(node.requests.length).toBe(before);
  });

  it('allows configured origins and wildcards', async () => {
    const exact = await send('POST', '/api/generate', { Origin: 'https://app.example' }, generate);
    expect(exact.status).toBe(200);
    expect(exact.headers['access-control-allow-origin']).toBe('https://app.example');
    const wildcard = await send('GET', '/api/version', { Origin: 'chrome-extension://abcdef' });
    expect(wildcard.status).toBe(200);
  });

  it('does not pass the origin to the node', async () => {
    seenOrigins.length = 0;
    await send('POST', '/api/generate', { Origin: 'http://localhost:8080' }, generate);
    expect(seenOrigins).toEqual([undefined]);
  });

  it('leaves requests without an origin alone', async () => {
    const reply = await send('POST', '/api/generate', {}, generate);
    expect(reply.status).toBe(200);
    expect(reply.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('OriginPolicy', () => {
  it('reads OLLAMA_ORIGINS entries', () => {
    expect(originsFromEnv(' "https://a.example", http://b.example:* ,,')).toEqual(['https://a.example', 'http://b.example:*']);
    expect(originsFromEnv(undefined)).toEqual([]);
  });

  it('allows every origin for a lone star', () => {
    expect(new OriginPolicy(['*']).allows('http://anything.example')).toBe(true);
    expect(new OriginPolicy().allows('http://anything.example')).toBe(false);
  });

  it('does not let a wildcard port match another host', () => {
    const policy = new OriginPolicy();
    expect(policy.allows('http://localhost:11434')).toBe(true);
    expect(policy.allows('http://localhost.evil.example')).toBe(false);
    expect(policy.allows('http://127.0.0.1.evil.example:80')).toBe(false);
  });
});
