import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { checkWritable } from '../../electron/control/core/json-store';
import { createRootLogger } from '../../electron/control/core/logger';
import { ControlPlane } from '../../electron/control/plane';
import type { NodeView } from '../../shared/types';
import { cleanupHarness, startNode, tempDir, tinyLlama, type TestNode } from './gateway-harness';

const planes: ControlPlane[] = [];
let node: TestNode | undefined;

afterAll(async () => {
  for (const plane of planes) await plane.stop();
  await node?.close();
  await cleanupHarness();
});

/** Collects the JSON log lines of a plane, so a test can look for one message. */
function captureLog() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createRootLogger({ level: 'info', destination }), lines };
}

async function startPlaneOn(dataDir: string) {
  const captured = captureLog();
  const plane = new ControlPlane({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    discoverLocal: false,
    embedded: false,
    log: captured.log,
    health: { intervalMs: 60_000, probeTimeoutMs: 5_000, slowMs: 5_000, maxBackoffMs: 60_000 },
  });
  planes.push(plane);
  await plane.start();
  return { plane, lines: captured.lines };
}

/**
 * Makes `dir` reject new files, with chmod 555 where that works. Root ignores folder permissions,
 * so when a write still succeeds the folder is replaced by a regular file, which makes every
 * write under it fail with ENOTDIR or EEXIST instead.
 */
async function makeUnwritable(dir: string): Promise<'chmod' | 'file'> {
  await chmod(dir, 0o555);
  if (!(await checkWritable(dir)).writable) return 'chmod';
  await chmod(dir, 0o755);
  await rm(dir, { recursive: true, force: true });
  await writeFile(dir, 'not a folder\n');
  return 'file';
}

async function nodeUrl(): Promise<string> {
  node ??= await startNode([tinyLlama]);
  return node.url;
}

describe('data folder that cannot be written', () => {
  it('checkWritable reports a folder under a file', async () => {
    const root = await tempDir('synaptic-unwritable-');
    await writeFile(join(root, 'parent'), '');
    const check = await checkWritable(join(root, 'parent', 'data'));
    expect(check.writable).toBe(false);
    if (!check.writable) expect(check.code).toBe('ENOTDIR');
  });

  it('warns once at start and rolls back nodes:add', async () => {
    const root = await tempDir('synaptic-unwritable-');
    const dataDir = join(root, 'data');
    await mkdir(dataDir);
    const way = await makeUnwritable(dataDir);
    const { plane, lines } = await startPlaneOn(dataDir);

    const warnings = lines.filter((line) => String(line.msg).includes('is not writable'));
    expect(warnings, `made unwritable by ${way}`).toHaveLength(1);
    expect(warnings[0].msg).toContain(dataDir);
    expect(warnings[0].msg).toContain('--data');

    const added = await plane.api.invoke('nodes:add', { url: await nodeUrl() });
    expect(added.ok).toBe(false);
    if (!added.ok) {
      expect(added.error.code).toBe('unavailable');
      expect(added.error.message).toContain(`data folder ${dataDir} is not writable`);
      expect(added.error.message).toContain('--data');
    }
    const listed = await plane.api.invoke('nodes:list', {});
    expect(listed.ok).toBe(true);
    expect(listed.ok ? (listed.value as NodeView[]) : undefined).toEqual([]);
  });

  it('rolls back nodes:update and nodes:remove', async () => {
    const root = await tempDir('synaptic-unwritable-');
    const dataDir = join(root, 'data');
    const { plane } = await startPlaneOn(dataDir);
    const url = await nodeUrl();
    const added = await plane.api.invoke('nodes:add', { url, name: 'before' });
    expect(added.ok).toBe(true);
    const id = added.ok ? (added.value as NodeView).id : '';
    const saved = await readFile(join(dataDir, 'nodes.json'), 'utf8');

    const way = await makeUnwritable(dataDir);

    const updated = await plane.api.invoke('nodes:update', { id, name: 'after', gpuVramBytes: 1024 });
    expect(updated.ok, `made unwritable by ${way}`).toBe(false);
    if (!updated.ok) expect(updated.error.message).toContain(`data folder ${dataDir} is not writable`);
    expect(plane.nodes.get(id)?.name).toBe('before');
    expect(plane.nodes.get(id)?.gpuVramBytes).toBeUndefined();

    const removed = await plane.api.invoke('nodes:remove', { id });
    expect(removed.ok).toBe(false);
    if (!removed.ok) expect(removed.error.message).toContain(`data folder ${dataDir} is not writable`);
    const listed = await plane.api.invoke('nodes:list', {});
    expect(listed.ok && (listed.value as NodeView[]).map((view) => view.id)).toEqual([id]);

    // The node survives a restart, because the file still contains it.
    if (way === 'file') {
      await rm(dataDir, { force: true });
      await mkdir(dataDir);
      await writeFile(join(dataDir, 'nodes.json'), saved);
    } else {
      await chmod(dataDir, 0o755);
    }
    const restarted = await startPlaneOn(dataDir);
    expect(restarted.plane.nodes.list().map((view) => view.url)).toEqual([url]);
    expect(restarted.lines.some((line) => String(line.msg).includes('is not writable'))).toBe(false);
  });

  it('rolls back routing:set and rpc:add', async () => {
    const root = await tempDir('synaptic-unwritable-');
    const dataDir = join(root, 'data');
    const { plane } = await startPlaneOn(dataDir);
    const before = await plane.api.invoke('routing:settings', {});
    const way = await makeUnwritable(dataDir);

    const set = await plane.api.invoke('routing:set', { strategy: 'fastest' });
    expect(set.ok, `made unwritable by ${way}`).toBe(false);
    if (!set.ok) expect(set.error.message).toContain(`data folder ${dataDir} is not writable`);
    const after = await plane.api.invoke('routing:settings', {});
    expect(after).toEqual(before);

    const added = await plane.api.invoke('rpc:add', { endpoint: '127.0.0.1:1' });
    expect(added.ok).toBe(false);
    if (!added.ok) expect(added.error.message).toContain(`data folder ${dataDir} is not writable`);
    const listed = await plane.api.invoke('rpc:list', {});
    expect(listed.ok).toBe(true);
    expect(listed.ok ? (listed.value as unknown[]) : undefined).toEqual([]);
  });
});
