import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../electron/control/plane';
import { addNode, cleanupHarness, modelsRoot, startNode, startPlane, tempDir, tinyLlama, type TestNode } from './gateway-harness';

/** Sends a chat through the gateway and returns the HTTP status and the parsed body. */
async function chat(url: string, body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ stream: false, ...body }) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * Writes a copy of a GGUF model whose `general.architecture` names an architecture llama.cpp
 * does not know. The file passes the node's header and size checks, so it is listed, but every
 * load of it fails with a 500 `failed to load model ...`.
 */
async function writeUnloadableModel(source: string, target: string): Promise<void> {
  const bytes = await readFile(source);
  const key = bytes.indexOf('general.architecture');
  expect(key).toBeGreaterThan(0);
  // After the key: a u32 value type (8 = string), a u64 length, then the architecture name.
  const valueAt = key + 'general.architecture'.length + 4 + 8;
  expect(bytes.subarray(valueAt, valueAt + 5).toString('latin1')).toBe('llama');
  bytes.write('zzzzz', valueAt, 'latin1');
  await writeFile(target, bytes);
}

function learnedRows(plane: ControlPlane, nodeId: string) {
  return plane.closedLoop.learning.list().filter((row) => row.nodeId === nodeId);
}

describe('one node with a broken model and a good one', () => {
  let plane: ControlPlane;
  let nodeId: string;

  beforeAll(async () => {
    const modelsDir = await tempDir('synaptic-broken-');
    await symlink(join(modelsRoot, `${tinyLlama}.gguf`), join(modelsDir, `${tinyLlama}.gguf`));
    await writeUnloadableModel(join(modelsRoot, `${tinyLlama}.gguf`), join(modelsDir, 'broken.gguf'));
    plane = await startPlane({ embedded: true, modelsDir });
    const [node] = plane.nodes.list();
    nodeId = node.id;
  });

  afterAll(async () => {
    await plane?.stop();
    await cleanupHarness();
  });

  it('keeps the breaker closed after load failures', async () => {
    const url = plane.gateway.url()!;
    for (let i = 0; i < 3; i++) {
      const reply = await chat(url, { model: 'broken', messages: [{ role: 'user', content: 'hi' }] });
      expect(reply.status).toBe(500);
      expect(String(reply.body.error)).toContain('failed to load model');
    }
    expect(plane.closedLoop.breakers.state(nodeId)).toBe('closed');

    const client = new Ollama({ host: url });
    const good = await client.chat({ model: tinyLlama, messages: [{ role: 'user', content: 'hi' }], stream: false, options: { num_predict: 2 } });
    expect(good.done).toBe(true);
  });

  it('learns the broken model as failing on that node', () => {
    const broken = learnedRows(plane, nodeId).filter((row) => row.model === 'broken:latest');
    expect(broken).toHaveLength(1);
    expect(broken[0].samples).toBe(3);
    expect(broken[0].successRate).toBe(0);
    const good = learnedRows(plane, nodeId).filter((row) => row.model === `${tinyLlama}:latest`);
    expect(good).toHaveLength(1);
    expect(good[0].successRate).toBe(1);
  });

  it('ranks the broken model lower than the prior', () => {
    const preview = plane.router.preview({ endpoint: 'chat', model: 'broken', taskType: 'chat' });
    expect(preview.ranked).toHaveLength(1);
    expect(preview.ranked[0].factors?.success).toBeLessThan(0);
  });

  it('does not learn client errors', async () => {
    const url = plane.gateway.url()!;
    const before = learnedRows(plane, nodeId).find((row) => row.model === `${tinyLlama}:latest` && row.taskType === 'chat');
    for (let i = 0; i < 10; i++) {
      const reply = await chat(url, { model: tinyLlama, think: true, messages: [{ role: 'user', content: 'hi' }] });
      expect(reply.status).toBe(400);
      expect(String(reply.body.error)).toContain('does not support thinking');
    }
    const after = learnedRows(plane, nodeId).find((row) => row.model === `${tinyLlama}:latest` && row.taskType === 'chat');
    expect(after?.samples).toBe(before?.samples);
    expect(after?.successRate).toBe(1);
    const preview = plane.router.preview({ endpoint: 'chat', model: tinyLlama, taskType: 'chat' });
    expect(preview.ranked[0].factors?.success).toBeCloseTo(0, 6);
    expect(plane.closedLoop.breakers.state(nodeId)).toBe('closed');
  });

  it('keeps show requests out of learning', async () => {
    const client = new Ollama({ host: plane.gateway.url()! });
    const rowsBefore = learnedRows(plane, nodeId).length;
    const details = await client.show({ model: tinyLlama });
    expect(details.details).toBeDefined();
    expect(learnedRows(plane, nodeId)).toHaveLength(rowsBefore);
    expect(learnedRows(plane, nodeId).filter((row) => row.taskType === 'embedding')).toHaveLength(0);
  });

  it('keeps one row per model across spellings', async () => {
    const url = plane.gateway.url()!;
    for (const model of [tinyLlama, `${tinyLlama}:latest`, tinyLlama.toUpperCase()]) {
      const reply = await chat(url, { model, messages: [{ role: 'user', content: 'hi' }], options: { num_predict: 1 } });
      expect(reply.status).toBe(200);
    }
    const rows = learnedRows(plane, nodeId).filter((row) => row.taskType === 'chat' && row.model.toLowerCase() === `${tinyLlama.toLowerCase()}:latest`);
    expect(rows).toHaveLength(1);
    expect(rows[0].samples).toBe(4);
  });
});

describe('a new node beside a warmed-up one', () => {
  let plane: ControlPlane;
  let first: TestNode;
  let second: TestNode;

  beforeAll(async () => {
    first = await startNode([tinyLlama]);
    second = await startNode([tinyLlama]);
    plane = await startPlane();
  }, 60_000);

  afterAll(async () => {
    await plane?.stop();
    await first?.close();
    await second?.close();
    await cleanupHarness();
  });

  it('gets part of a concurrent burst', async () => {
    const client = new Ollama({ host: plane.gateway.url()! });
    const firstId = await addNode(plane, first.url, 'first');
    for (let i = 0; i < 4; i++) {
      await client.generate({ model: tinyLlama, prompt: 'warm up', stream: false, options: { num_predict: 16 } });
    }
    expect(plane.closedLoop.learning.get(firstId, tinyLlama, 'generation').samples).toBeGreaterThan(0);

    const secondId = await addNode(plane, second.url, 'second');
    const preview = plane.router.preview({ endpoint: 'generate', model: tinyLlama, taskType: 'generation', expectedOutputTokens: 256 });
    const newcomer = preview.ranked.find((candidate) => candidate.id === secondId);
    // A 5.7 MB model must not be expected to take minutes on a node with no samples.
    expect(newcomer?.reason).toMatch(/~\d+ ms expected \(prior\)/);
    expect(Number(/~(\d+) ms/.exec(newcomer!.reason)![1])).toBeLessThan(5_000);

    await Promise.all(
      Array.from({ length: 6 }, (_, i) => client.generate({ model: tinyLlama, prompt: `burst ${i}`, stream: false, options: { num_predict: 256 } })),
    );
    const served = plane.router.decisions(6).map((decision) => decision.nodeName);
    expect(served).toHaveLength(6);
    // A fixed 1.5 s / 15 tokens/s prior sends the newcomer only 1 of the 6, after 4 queue on the first node.
    expect(served.filter((name) => name === 'first').length).toBeGreaterThanOrEqual(2);
    expect(served.filter((name) => name === 'second').length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
