import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiFailure } from '../../electron/control/core/api-registry';
import { EventBus } from '../../electron/control/core/event-bus';
import { createSilentLogger } from '../../electron/control/core/logger';
import { NodeStore } from '../../electron/control/nodes/node-store';
import { NodeRegistry } from '../../electron/control/nodes/registry';

const log = createSilentLogger();
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synaptic-nodes-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function registry() {
  return new NodeRegistry(new NodeStore(dir, log), new EventBus(), log);
}

describe('node registry persistence', () => {
  it('saves added nodes and loads them in a new registry', async () => {
    const first = registry();
    await first.load();
    const added = await first.add({ url: 'http://127.0.0.1:1/', name: 'gpu-1', gpuVramBytes: 8e9 });
    expect(added.url).toBe('http://127.0.0.1:1');

    const second = registry();
    await second.load();
    const [loaded] = second.list();
    expect(loaded.id).toBe(added.id);
    expect(loaded.name).toBe('gpu-1');
    expect(loaded.gpuVramBytes).toBe(8e9);
    expect(loaded.health).toBe('unknown');
  });

  it('rejects a duplicate URL as a conflict naming the node', async () => {
    const nodes = registry();
    await nodes.add({ url: 'http://127.0.0.1:1', name: 'first' });
    const attempt = nodes.add({ url: 'HTTP://127.0.0.1:1/' });
    await expect(attempt).rejects.toBeInstanceOf(ApiFailure);
    await expect(attempt).rejects.toMatchObject({ code: 'conflict' });
    await expect(nodes.add({ url: 'http://127.0.0.1:1' })).rejects.toThrow(/already in the fleet as 'first'/);
  });

  it('rejects an invalid URL naming the value', async () => {
    const nodes = registry();
    await expect(nodes.add({ url: 'gopher://x:70' })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(nodes.add({ url: 'gopher://x:70' })).rejects.toThrow(/gopher:\/\/x:70/);
  });

  it('does not persist nodes added with persist false', async () => {
    const nodes = registry();
    await nodes.add({ url: 'http://127.0.0.1:1' });
    await nodes.add({ url: 'http://127.0.0.1:2' }, { kind: 'embedded', persist: false });
    const saved = JSON.parse(await readFile(join(dir, 'nodes.json'), 'utf8'));
    expect(saved.nodes).toHaveLength(1);
    expect(saved.nodes[0].url).toBe('http://127.0.0.1:1');
  });

  it('updates and removes a node and persists both', async () => {
    const nodes = registry();
    const added = await nodes.add({ url: 'http://127.0.0.1:1' });
    await nodes.update({ id: added.id, name: 'renamed', gpuVramBytes: 5 });
    await nodes.update({ id: added.id, gpuVramBytes: null });
    let saved = JSON.parse(await readFile(join(dir, 'nodes.json'), 'utf8'));
    expect(saved.nodes[0].name).toBe('renamed');
    expect(saved.nodes[0].gpuVramBytes).toBeUndefined();

    expect(await nodes.remove(added.id)).toBe(true);
    expect(await nodes.remove(added.id)).toBe(false);
    saved = JSON.parse(await readFile(join(dir, 'nodes.json'), 'utf8'));
    expect(saved.nodes).toEqual([]);
  });

  it('keeps a corrupt file aside instead of overwriting it', async () => {
    await writeFile(join(dir, 'nodes.json'), '{"version": 1, "nodes": [{"id": ');
    const nodes = registry();
    await nodes.load();
    expect(nodes.list()).toEqual([]);
    const files = await readdir(dir);
    const aside = files.find((name) => name.startsWith('nodes.json.corrupt-'));
    expect(aside).toBeDefined();
    expect(await readFile(join(dir, aside!), 'utf8')).toBe('{"version": 1, "nodes": [{"id": ');

    await nodes.add({ url: 'http://127.0.0.1:3' });
    expect(await readFile(join(dir, aside!), 'utf8')).toBe('{"version": 1, "nodes": [{"id": ');
  });

  it('keeps a file with an invalid node URL aside', async () => {
    const content = JSON.stringify({ version: 1, nodes: [{ id: 'a', url: 'ftp://x', name: 'x', addedAt: 'now' }] });
    await writeFile(join(dir, 'nodes.json'), content);
    const nodes = registry();
    await nodes.load();
    expect(nodes.list()).toEqual([]);
    expect((await readdir(dir)).some((name) => name.startsWith('nodes.json.corrupt-'))).toBe(true);
  });

  it('ignores a leftover temporary file from a crashed write', async () => {
    const first = registry();
    await first.add({ url: 'http://127.0.0.1:4', name: 'kept' });
    await writeFile(join(dir, 'nodes.json.1234.1700000000000.abc.tmp'), '{"version": 1, "nodes": [');

    const second = registry();
    await second.load();
    expect(second.list().map((node) => node.name)).toEqual(['kept']);
    expect((await readdir(dir)).some((name) => name.includes('corrupt'))).toBe(false);
  });
});
