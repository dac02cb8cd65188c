import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gatewayListenMessage, uiListenMessage, usage } from '../../electron/cli/serve';
import type { ApiResult } from '../../shared/result';
import { cleanupHarness, modelsDirWith, tempDir, tinyLlama } from './gateway-harness';

const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const children: ChildProcess[] = [];
const blockers: Server[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const server of blockers) await new Promise<void>((resolve) => server.close(() => resolve()));
  await cleanupHarness();
});

/** Holds a free loopback port, so serve finds it taken. */
async function takePort(): Promise<number> {
  const server = createServer();
  blockers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as { port: number }).port;
}

type Serve = { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> };

function startServe(args: string[]): Serve {
  const child = spawn(tsx, ['electron/cli/serve.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Discovery of a local Ollama looks at OLLAMA_HOST; port 9 (discard) has no listener here.
    env: { ...process.env, OLLAMA_HOST: '127.0.0.1:9', SYNAPTIC_LOG_LEVEL: 'info' },
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Waits for the banner's last line (`data:`) or later ones, or fails with what serve printed. */
async function waitForBanner(serve: Serve, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (/^data: /m.test(serve.stdout())) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return serve.stdout();
    }
    if (serve.child.exitCode !== null) throw new Error(`serve exited with ${serve.child.exitCode}: ${serve.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no banner after ${timeoutMs} ms: ${serve.stdout()} ${serve.stderr()}`);
}

async function rpc(uiUrl: string, channel: string, body: unknown): Promise<ApiResult<unknown>> {
  const response = await fetch(new URL(`rpc/${channel}`, uiUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await response.json()) as ApiResult<unknown>;
}

describe('serve listen messages', () => {
  it('help states when the fallback port applies', () => {
    expect(usage).toContain('default 11435 when --port');
    expect(usage).toContain('no fallback unless given');
  });

  it('gateway message suggests --fallback-port', () => {
    const message = gatewayListenMessage({ port: 12000, fallbackPort: undefined }, 'cannot listen on 127.0.0.1:12000: EADDRINUSE');
    expect(message).toContain('127.0.0.1:12000: EADDRINUSE');
    expect(message).toContain('--fallback-port');
  });

  it('ui message names --ui-port and the port', () => {
    const error = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
    expect(uiListenMessage('127.0.0.1', 8765, error)).toBe('--ui-port 8765 is in use on 127.0.0.1; pass another --ui-port, or --ui-port 0 for a free port');
  });
});

describe('npm run serve start-up', () => {
  it('taken --port exits before logging started', async () => {
    const port = await takePort();
    const serve = startServe(['--port', String(port), '--ui-port', '0', '--data', await tempDir('synaptic-serve-'), '--no-embedded']);
    expect(await serve.exited).toBe(1);
    expect(serve.stderr()).toContain(`serve: the gateway could not listen: cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    expect(serve.stderr()).toContain('--fallback-port');
    expect(serve.stderr()).not.toContain('Control plane started');
    expect(serve.stdout()).not.toContain('gateway:');
  }, 60_000);

  it('taken --port uses a given --fallback-port', async () => {
    const port = await takePort();
    const serve = startServe(['--port', String(port), '--fallback-port', '0', '--ui-port', '0', '--data', await tempDir('synaptic-serve-'), '--no-embedded']);
    const banner = await waitForBanner(serve);
    expect(banner).toContain(`port ${port} was in use, so listening on fallback 127.0.0.1:`);
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
  }, 60_000);

  it('taken --ui-port names the flag and port', async () => {
    const uiPort = await takePort();
    const serve = startServe(['--port', '0', '--ui-port', String(uiPort), '--data', await tempDir('synaptic-serve-'), '--no-embedded']);
    expect(await serve.exited).toBe(1);
    expect(serve.stderr()).toContain(`serve: --ui-port ${uiPort} is in use on 127.0.0.1`);
    expect(serve.stderr()).not.toContain('Control plane started');
  }, 60_000);

  it('banner shows the embedded node; API checks inputs', async () => {
    const modelsDir = await modelsDirWith(tinyLlama);
    const serve = startServe(['--port', '0', '--ui-port', '0', '--data', await tempDir('synaptic-serve-'), '--models', modelsDir]);
    const banner = await waitForBanner(serve);
    const embedded = /^embedded node: (http:\/\/127\.0\.0\.1:(\d+))$/m.exec(banner);
    expect(embedded, banner).not.toBeNull();
    const tags = (await (await fetch(`${embedded![1]}/api/tags`)).json()) as { models: Array<{ name: string }> };
    expect(tags.models.map((model) => model.name)).toContain(`${tinyLlama}:latest`);

    const uiUrl = /^ui: +(http:\/\/127\.0\.0\.1:\d+)/m.exec(banner)![1];
    const uiPort = new URL(uiUrl).port;

    // The UI server's own address is not a node.
    for (const url of [uiUrl, `http://localhost:${uiPort}`]) {
      const added = await rpc(uiUrl, 'nodes:add', { url });
      expect(added.ok, url).toBe(false);
      if (!added.ok) {
        expect(added.error.code).toBe('invalid_argument');
        expect(added.error.message).toContain('is the web UI of this app');
      }
    }

    const nodes = await rpc(uiUrl, 'nodes:list', {});
    const nodeId = nodes.ok ? (nodes.value as Array<{ id: string; kind: string }>).find((node) => node.kind === 'embedded')!.id : '';
    expect(nodeId).not.toBe('');

    // An unknown key of nodes:update is an error naming the key, and changes nothing.
    const updated = await rpc(uiUrl, 'nodes:update', { id: nodeId, parallel: -1 });
    expect(updated.ok).toBe(false);
    if (!updated.ok) {
      expect(updated.error.code).toBe('invalid_argument');
      expect(updated.error.message).toContain('"parallel"');
    }
    const after = await rpc(uiUrl, 'nodes:list', {});
    const embeddedAfter = after.ok ? (after.value as Array<{ id: string; name: string }>).find((node) => node.id === nodeId) : undefined;
    expect(embeddedAfter?.name).toBe('embedded');

    // Prewarm rejects unknown node ids, and accepts a model the node does not have yet.
    const unknownNode = await rpc(uiUrl, 'routing:set', { prewarm: [{ model: 'nope', nodeIds: ['zzz'] }] });
    expect(unknownNode.ok).toBe(false);
    if (!unknownNode.ok) expect(unknownNode.error.message).toContain("unknown node id in prewarm: 'zzz' (model 'nope')");
    const settings = await rpc(uiUrl, 'routing:settings', {});
    expect(settings.ok).toBe(true);
    if (settings.ok) expect((settings.value as { prewarm: unknown[] }).prewarm).toEqual([]);

    const unknownModel = await rpc(uiUrl, 'routing:set', { prewarm: [{ model: 'not-pulled-yet', nodeIds: [nodeId] }] });
    expect(unknownModel.ok).toBe(true);
    // A saved entry passes again unchanged with the rest of the settings.
    const again = await rpc(uiUrl, 'routing:set', { prewarm: [{ model: 'not-pulled-yet', nodeIds: [nodeId] }], hedging: false });
    expect(again.ok).toBe(true);

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
  }, 120_000);
});
