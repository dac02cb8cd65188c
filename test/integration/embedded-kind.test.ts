import { afterAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../electron/control/plane';
import { addNode, cleanupHarness, startNode, startPlane, tinyRandom, type TestNode } from './gateway-harness';

let node: TestNode | undefined;
let plane: ControlPlane | undefined;

afterAll(async () => {
  await plane?.stop();
  await node?.close();
  await cleanupHarness();
});

describe('a standalone embedded node added by URL', () => {
  it('is known as embedded and left out of pulls', async () => {
    node = await startNode([tinyRandom]);
    plane = await startPlane({ embedded: false });
    const id = await addNode(plane, node.url, 'standalone');
    expect(plane.nodes.get(id)?.kind).toBe('embedded');

    const response = await fetch(`${plane.gateway.url()}/api/pull`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', stream: false }) });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toContain('no Ollama node is up to pull models');
  });
});
