import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ollama } from 'ollama';
import type { ControlPlane } from '../../electron/control/plane';
import { modelStoreMessage } from '../../electron/control/embedded/server';
import { startFleet, type SimFleet } from '../../electron/control/sim/fleet';
import { downloadFailedMessage, manifestMissingMessage } from '../../electron/control/sim/manage';
import { parseFleetProfile } from '../../electron/control/sim/profile';
import { addNode, cleanupHarness, FaultNode, Relay, startNode, startPlane, tinyRandom, type TestNode } from './gateway-harness';

const nodeDefaults = { gpuVramBytes: 8e9, tokensPerSecGpu: 200, tokensPerSecCpu: 20, loadMs: 0, parallel: 2, queueLimit: 8, pullBytesPerSec: 100_000_000 };

const profile = parseFleetProfile({
  name: 'manage',
  models: [{ name: 'llama3.2:latest', sizeBytes: 2_000_000_000, blockCount: 28 }],
  pullable: [
    { name: 'qwen2.5:0.5b', family: 'qwen2', sizeBytes: 400_000_000, blockCount: 24 },
    { name: 'smollm:135m', sizeBytes: 90_000_000, blockCount: 30 },
    { name: 'tinyllama:1b', sizeBytes: 600_000_000, blockCount: 22 },
    { name: 'gemma2:2b', family: 'gemma2', sizeBytes: 600_000_000, blockCount: 26 },
    { name: 'huge:70b', sizeBytes: 40_000_000_000, blockCount: 80 },
  ],
  nodes: [
    { name: 'alpha', ...nodeDefaults, models: ['llama3.2:latest'] },
    { name: 'beta', ...nodeDefaults, models: ['llama3.2:latest'] },
    { name: 'gamma', ...nodeDefaults, models: ['llama3.2:latest'] },
  ],
});

let fleet: SimFleet;
let plane: ControlPlane;
let embedded: TestNode;
let gatewayUrl: string;

/** Creates an `ollama` client whose requests target the named nodes, or the whole fleet without names. */
function clientFor(...nodes: string[]): Ollama {
  return new Ollama({ host: gatewayUrl, headers: nodes.length > 0 ? { 'x-synaptic-node': nodes.join(', ') } : {} });
}

function engine(name: string) {
  return fleet.node(name).engine;
}

async function tagNames(client: Ollama): Promise<string[]> {
  return (await client.list()).models.map((m) => m.name);
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  fleet = await startFleet(profile, { speed: 20 });
  plane = await startPlane();
  for (const node of fleet.nodes) await addNode(plane, node.url, node.name);
  embedded = await startNode([tinyRandom]);
  await plane.nodes.add({ url: embedded.url, name: 'embedded' }, { kind: 'embedded', persist: false });
  gatewayUrl = plane.gateway.url()!;
}, 60_000);

afterAll(async () => {
  await plane?.stop();
  await embedded?.close();
  await fleet?.close();
  await cleanupHarness();
});

describe('gateway pull', () => {
  it('streams merged progress and ends in success', async () => {
    const stream = await clientFor('alpha', 'beta').pull({ model: 'qwen2.5:0.5b', stream: true });
    const parts = [];
    for await (const part of stream) parts.push(part);

    expect(parts[0]).toEqual({ status: 'pulling manifest' });
    expect(parts.at(-1)).toEqual({ status: 'success' });
    expect(parts.filter((p) => p.status === 'success')).toHaveLength(1);
    expect(parts.filter((p) => p.status === 'verifying sha256 digest')).toHaveLength(1);

    const byDigest = new Map<string, Array<{ total: number; completed?: number }>>();
    for (const part of parts) {
      if (!part.digest) continue;
      const list = byDigest.get(part.digest) ?? [];
      list.push({ total: part.total, completed: part.completed });
      byDigest.set(part.digest, list);
    }
    expect(byDigest.size).toBe(4);
    const totals = [...byDigest.values()].map((lines) => lines[0].total).sort((a, b) => b - a);
    expect(totals.reduce((sum, t) => sum + t, 0)).toBe(2 * 400_000_000);
    for (const lines of byDigest.values()) {
      const completed = lines.map((l) => l.completed ?? 0);
      expect(completed).toEqual([...completed].sort((a, b) => a - b));
      expect(new Set(lines.map((l) => l.total)).size).toBe(1);
      expect(completed.at(-1)).toBe(lines[0].total);
    }
  });

  it('lists and serves the pulled model right after success', async () => {
    expect(engine('alpha').findModel('qwen2.5:0.5b')).toBeDefined();
    expect(engine('beta').findModel('qwen2.5:0.5b')).toBeDefined();
    expect(engine('gamma').findModel('qwen2.5:0.5b')).toBeUndefined();
    const client = clientFor();
    expect(await tagNames(client)).toContain('qwen2.5:0.5b');
    const reply = await client.generate({ model: 'qwen2.5:0.5b', prompt: 'hi', stream: false, options: { num_predict: 3 } });
    expect(reply.done).toBe(true);
  });

  it('pulls only on nodes that lack the model', async () => {
    const before = ['alpha', 'beta', 'gamma'].map((name) => engine(name).stats.pulls);
    const reply = await clientFor().pull({ model: 'qwen2.5:0.5b' });
    expect(reply).toEqual({ status: 'success' });
    const after = ['alpha', 'beta', 'gamma'].map((name) => engine(name).stats.pulls);
    expect(after).toEqual([before[0], before[1], before[2] + 1]);
    expect(engine('gamma').findModel('qwen2.5:0.5b')).toBeDefined();
  });

  it('leaves the embedded node out by default', async () => {
    const reply = await clientFor().pull({ model: 'smollm:135m', stream: false });
    expect(reply).toEqual({ status: 'success' });
    for (const name of ['alpha', 'beta', 'gamma']) expect(engine(name).findModel('smollm:135m')).toBeDefined();
  });

  it('ends with an error line when one node fails', async () => {
    const faults = engine('gamma').profile.faults;
    faults.pullFailChance = 1;
    try {
      const stream = await clientFor('alpha', 'gamma').pull({ model: 'gemma2:2b', stream: true });
      const seen: string[] = [];
      const failure = await (async () => {
        for await (const part of stream) seen.push(part.status);
      })().catch((error: Error) => error);
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).message).toBe(`pull of 'gemma2:2b' failed on node gamma: ${downloadFailedMessage} (succeeded on alpha)`);
      expect(seen).not.toContain('success');
      expect(seen.length).toBeGreaterThan(3);
    } finally {
      faults.pullFailChance = 0;
    }
    expect(engine('alpha').findModel('gemma2:2b')).toBeDefined();
    expect(engine('gamma').findModel('gemma2:2b')).toBeUndefined();
  });

  it('names a node whose connection drops', async () => {
    const relay = await new Relay(fleet.node('beta').port).listen();
    const relayId = await addNode(plane, relay.url, 'beta-relay');
    try {
      relay.cutAfterLines = 3;
      const failure = await clientFor('alpha', 'beta-relay').pull({ model: 'tinyllama:1b' }).catch((error) => error);
      expect(failure.status_code).toBe(500);
      expect(failure.message).toBe("pull of 'tinyllama:1b' failed on node beta-relay: other side closed (UND_ERR_SOCKET) (succeeded on alpha)");
      expect(engine('alpha').findModel('tinyllama:1b')).toBeDefined();
      expect(engine('beta').findModel('tinyllama:1b')).toBeUndefined();
    } finally {
      await plane.nodes.remove(relayId);
      await relay.close();
    }
  });

  it('fails a stream that ends without success', async () => {
    const faulty = await new FaultNode('other:latest').listen();
    faulty.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end('{"status":"pulling manifest"}\n');
    };
    const faultyId = await addNode(plane, faulty.url, 'faulty');
    try {
      const failure = await clientFor('faulty').pull({ model: 'smollm:135m' }).catch((error) => error);
      expect(failure.status_code).toBe(500);
      expect(failure.message).toBe("pull of 'smollm:135m' failed on node faulty: the pull stream ended without success or error");
    } finally {
      await plane.nodes.remove(faultyId);
      await faulty.close();
    }
  });

  it('sends the error line last on the wire', async () => {
    const response = await fetch(`${gatewayUrl}/api/pull`, { method: 'POST', body: JSON.stringify({ model: 'nothing-here:1b' }), headers: { 'x-synaptic-node': 'alpha,beta' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await response.text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines[0]).toEqual({ status: 'pulling manifest' });
    expect(lines.at(-1)).toEqual({ error: `pull of 'nothing-here:1b' failed on nodes alpha, beta: ${manifestMissingMessage}` });
    expect(lines.some((line) => line.status === 'success')).toBe(false);
  });

  it('answers a failed pull without streaming with 500', async () => {
    const failure = await clientFor('beta').pull({ model: 'nothing-here:1b', stream: false }).catch((error) => error);
    expect(failure.status_code).toBe(500);
    expect(failure.message).toBe(`pull of 'nothing-here:1b' failed on node beta: ${manifestMissingMessage}`);
  });

  it('aborts every upstream pull when the client disconnects', async () => {
    const aborted = ['alpha', 'beta'].map((name) => engine(name).stats.pullsAborted);
    const controller = new AbortController();
    const response = await fetch(`${gatewayUrl}/api/pull`, {
      method: 'POST',
      body: JSON.stringify({ model: 'huge:70b' }),
      headers: { 'x-synaptic-node': 'alpha, beta' },
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('"digest"')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended early: ${text}`);
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    await waitFor(() => engine('alpha').stats.pullsAborted > aborted[0] && engine('beta').stats.pullsAborted > aborted[1]);
    expect(engine('alpha').findModel('huge:70b')).toBeUndefined();
    expect(engine('beta').findModel('huge:70b')).toBeUndefined();
  });

  it('rejects a body without a model', async () => {
    const response = await fetch(`${gatewayUrl}/api/pull`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'model is required' });
  });
});

describe('gateway delete and copy', () => {
  it('copies a model on every node that has it', async () => {
    const reply = await clientFor().copy({ source: 'llama3.2', destination: 'llama3-backup' });
    expect(reply).toEqual({ status: 'success' });
    for (const name of ['alpha', 'beta', 'gamma']) {
      const source = engine(name).findModel('llama3.2')!;
      const copy = engine(name).findModel('llama3-backup')!;
      expect(copy).toBeDefined();
      expect(engine(name).digestOf(copy)).toBe(engine(name).digestOf(source));
    }
    expect(await tagNames(clientFor())).toContain('llama3-backup:latest');
  });

  it('answers 404 for a copy of a missing model', async () => {
    const failure = await clientFor().copy({ source: 'missing-model', destination: 'other' }).catch((error) => error);
    expect(failure.status_code).toBe(404);
    expect(failure.message).toBe('model "missing-model" not found');
  });

  it('deletes a model from every node that has it', async () => {
    const reply = await clientFor().delete({ model: 'llama3-backup' });
    expect(reply).toEqual({ status: 'success' });
    for (const name of ['alpha', 'beta', 'gamma']) expect(engine(name).findModel('llama3-backup')).toBeUndefined();
    expect(await tagNames(clientFor())).not.toContain('llama3-backup:latest');
  });

  it('deletes only on the named node', async () => {
    await clientFor().delete({ model: 'smollm:135m' }).catch(() => undefined);
    await clientFor('alpha', 'beta').pull({ model: 'smollm:135m' });
    await clientFor('beta').delete({ model: 'smollm:135m' });
    expect(engine('alpha').findModel('smollm:135m')).toBeDefined();
    expect(engine('beta').findModel('smollm:135m')).toBeUndefined();
  });

  it('answers 404 when no node has the model', async () => {
    const failure = await clientFor().delete({ model: 'llama3-backup' }).catch((error) => error);
    expect(failure.status_code).toBe(404);
    expect(failure.message).toBe("model 'llama3-backup' not found");
  });

  it('answers 405 for delete with POST', async () => {
    const response = await fetch(`${gatewayUrl}/api/delete`, { method: 'POST', body: '{"model":"x"}' });
    expect(response.status).toBe(405);
  });
});

describe('gateway node selection', () => {
  it('rejects an unknown node name', async () => {
    const failure = await clientFor('alpha', 'nosuch').delete({ model: 'llama3.2' }).catch((error) => error);
    expect(failure.status_code).toBe(400);
    expect(failure.message).toContain("unknown node 'nosuch'");
    expect(engine('alpha').findModel('llama3.2')).toBeDefined();
  });

  it('rejects the embedded node when named', async () => {
    const failure = await clientFor('embedded').pull({ model: 'smollm:135m' }).catch((error) => error);
    expect(failure.status_code).toBe(400);
    expect(failure.message).toBe("node 'embedded' is an embedded node, which cannot pull models; name an Ollama node");
  });

  it('asks for a node when pushing to a fleet', async () => {
    const failure = await clientFor().push({ model: 'me/llama3.2' }).catch((error) => error);
    expect(failure.status_code).toBe(400);
    expect(failure.message).toContain('pick one with the x-synaptic-node header');
  });

  it('forwards a blob check to the named node', async () => {
    const digest = `sha256:${'0'.repeat(64)}`;
    const response = await fetch(`${gatewayUrl}/api/blobs/${digest}`, { method: 'HEAD', headers: { 'x-synaptic-node': 'alpha' } });
    expect(response.status).toBe(404);
  });

  it('rejects a malformed blob digest', async () => {
    const response = await fetch(`${gatewayUrl}/api/blobs/sha256:xyz`, { method: 'POST', body: 'x', headers: { 'x-synaptic-node': 'alpha' } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string };
    expect(body.error).toContain("invalid digest 'sha256:xyz'");
  });
});

describe('embedded node model store', () => {
  it.each([
    ['POST', '/api/pull', 'pull'],
    ['DELETE', '/api/delete', 'delete'],
    ['POST', '/api/copy', 'copy'],
  ])('answers %s %s with an Ollama error', async (method, path, verb) => {
    const response = await fetch(`${embedded.url}${path}`, { method, body: '{"model":"llama-2-tiny-random"}' });
    expect(response.status).toBe(501);
    expect(await response.json()).toEqual({ error: modelStoreMessage(verb) });
  });

  it('keeps its model after a delete through the ollama client', async () => {
    const client = new Ollama({ host: embedded.url });
    const failure = await client.delete({ model: tinyRandom }).catch((error) => error);
    expect(failure.status_code).toBe(501);
    expect((await client.list()).models.map((m) => m.name)).toContain(`${tinyRandom}:latest`);
  });
});

describe('gateway create and blobs', () => {
  it('creates a model on the named node only', async () => {
    const reply = await clientFor('alpha').create({ model: 'mario', from: 'llama3.2', system: 'You are Mario.' });
    expect(reply).toEqual({ status: 'success' });
    expect(engine('alpha').findModel('mario')).toBeDefined();
    expect(engine('beta').findModel('mario')).toBeUndefined();
    expect(await tagNames(clientFor())).toContain('mario:latest');
  });

  it('streams create status lines from the node', async () => {
    const stream = await clientFor('beta').create({ model: 'luigi', from: 'llama3.2', system: 'You are Luigi.', stream: true });
    const statuses: string[] = [];
    for await (const part of stream) statuses.push(part.status);
    expect(statuses[0]).toMatch(/^using existing layer sha256:[0-9a-f]{64}$/);
    expect(statuses.slice(-2)).toEqual(['writing manifest', 'success']);
  });

  it('asks for a node when creating on a fleet', async () => {
    const failure = await clientFor().create({ model: 'peach', from: 'llama3.2' }).catch((error) => error);
    expect(failure.status_code).toBe(400);
    expect(failure.message).toContain('create needs one node and 3 are up');
  });

  it('uploads a blob and creates a model from it', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const headers = { 'x-synaptic-node': 'gamma' };
    const missing = await fetch(`${gatewayUrl}/api/blobs/${digest}`, { method: 'HEAD', headers });
    expect(missing.status).toBe(404);
    const upload = await fetch(`${gatewayUrl}/api/blobs/${digest}`, { method: 'POST', body: bytes, headers });
    expect(upload.status).toBe(201);
    const present = await fetch(`${gatewayUrl}/api/blobs/${digest}`, { method: 'HEAD', headers });
    expect(present.status).toBe(200);
    expect(engine('gamma').blobs.get(digest)).toBe(bytes.length);
    expect(engine('alpha').blobs.has(digest)).toBe(false);

    // The ollama npm client 0.6.4 has no `files` field in its types, so this request is sent by hand.
    const created = await fetch(`${gatewayUrl}/api/create`, {
      method: 'POST',
      body: JSON.stringify({ model: 'uploaded', files: { 'model.gguf': digest }, stream: false }),
      headers,
    });
    expect(created.status).toBe(200);
    expect(await created.json()).toEqual({ status: 'success' });
    expect(engine('gamma').findModel('uploaded')?.sizeBytes).toBe(bytes.length);
  });

  it('relays a digest mismatch from the node', async () => {
    const digest = `sha256:${'1'.repeat(64)}`;
    const response = await fetch(`${gatewayUrl}/api/blobs/${digest}`, { method: 'POST', body: 'not that', headers: { 'x-synaptic-node': 'alpha' } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string };
    expect(body.error).toContain('digest mismatch');
  });
});

describe('simulated node model wire format', () => {
  it('streams pull lines in Ollama order and shape', async () => {
    const response = await fetch(`${fleet.node('beta').url}/api/pull`, { method: 'POST', body: JSON.stringify({ model: 'gemma2:2b', stream: true }) });
    const reader = response.body!.getReader();
    let text = '';
    while (text.split('\n').length < 4) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    const [manifest, first, second] = text.split('\n').slice(0, 3).map((line) => JSON.parse(line));
    expect(manifest).toEqual({ status: 'pulling manifest' });
    expect(first.status).toBe(`pulling ${first.digest.slice(7, 19)}`);
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first.total).toBeGreaterThan(599_000_000);
    expect(first.completed).toBeUndefined();
    expect(second.completed).toBe(Math.round(first.total / 20));
  });

  it('answers an invalid pull name with 400', async () => {
    const response = await fetch(`${fleet.node('beta').url}/api/pull`, { method: 'POST', body: JSON.stringify({ model: 'a/b/c/d' }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid model name' });
  });

  it('answers a delete with 200 and no body', async () => {
    await clientFor('gamma').copy({ source: 'llama3.2', destination: 'scratch' });
    const response = await fetch(`${fleet.node('gamma').url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: 'scratch' }) });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });
});
