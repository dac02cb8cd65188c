import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DistributedModelView, RpcBackendView } from '../../shared/api/distributed';
import { createSilentLogger } from '../../electron/control/core/logger';
import { findLlamaBinaries } from '../../electron/control/llamacpp/binaries';
import { ControlPlane } from '../../electron/control/plane';
import { startUiServer, type UiServer } from '../../electron/control/ui-server';
import { cleanupHarness, modelsDirWith, tempDir, tinyLlama } from './gateway-harness';

const BIN = resolve(__dirname, '../../bin/synaptic.mjs');
const TOKEN = 'cli-rpc-test-token-0123456789';

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs the real `synaptic` launcher against the test's UI server. */
function synaptic(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, SYNAPTIC_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`synaptic ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Returns a loopback endpoint with no listener: a port taken from the OS and released again. */
async function closedEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((done) => server.close(() => done()));
  return `127.0.0.1:${port}`;
}

const binaries = await findLlamaBinaries();
const hasLlamaServer = binaries.llamaServer !== null;

describe('synaptic rpc and distributed', () => {
  let plane: ControlPlane;
  let ui: UiServer;
  let env: NodeJS.ProcessEnv;
  let modelsDir: string;

  beforeAll(async () => {
    const dataDir = await tempDir('synaptic-cli-rpc-');
    modelsDir = await modelsDirWith(tinyLlama);
    const log = createSilentLogger();
    plane = new ControlPlane({ dataDir, host: '127.0.0.1', port: 0, modelsDir, embedded: false, discoverLocal: false, log });
    await plane.start();
    ui = await startUiServer({ api: plane.api, bus: plane.bus, host: '127.0.0.1', port: 0, token: TOKEN, staticDir: dataDir, log });
    plane.attach({ name: 'UI server', stop: () => ui.close() });
    env = { SYNAPTIC_API: ui.url, SYNAPTIC_TOKEN: TOKEN, SYNAPTIC_DATA: dataDir };
  });

  afterAll(async () => {
    await plane?.stop();
    await cleanupHarness();
  });

  it('rpc remove drops a backend', async () => {
    const endpoint = await closedEndpoint();
    const added = await synaptic(['rpc', 'add', endpoint], env);
    expect(added.code, added.stderr).toBe(0);

    const removed = await synaptic(['rpc', 'remove', endpoint, '--json'], env);
    expect(removed.stderr).toBe('');
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout)).toEqual({ removed: true });

    const listed = await synaptic(['rpc', 'list', '--json'], env);
    expect((JSON.parse(listed.stdout) as RpcBackendView[]).map((backend) => backend.endpoint)).not.toContain(endpoint);

    const again = await synaptic(['rpc', 'remove', endpoint], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no rpc-server backend '${endpoint}'`);
  });

  it('rpc remove without an endpoint is a usage error', async () => {
    const run = await synaptic(['rpc', 'remove'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('missing HOST:PORT after "rpc remove"');
  });

  it.runIf(hasLlamaServer)('distributed on names a missing model', async () => {
    const run = await synaptic(['distributed', 'on', '--model', 'no-such-model'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`model 'no-such-model' not found in the models folder ${modelsDir}`);
  });

  it.runIf(hasLlamaServer)('distributed on warns when running local only', async () => {
    const endpoint = await closedEndpoint();
    expect((await synaptic(['rpc', 'add', endpoint], env)).code).toBe(0);

    const run = await synaptic(['distributed', 'on', '--model', tinyLlama], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Warning: no RPC backend is usable (${endpoint}: `);
    expect(run.stdout).toContain(`so '${tinyLlama}:latest' runs on the local llama-server only`);

    const listed = await synaptic(['distributed', 'list', '--json'], env);
    const models = JSON.parse(listed.stdout) as DistributedModelView[];
    expect(models).toHaveLength(1);
    expect(models[0].modelPath).toBe(resolve(modelsDir, `${tinyLlama}.gguf`));
    expect(models[0].backends).toEqual([]);
    expect(models[0].warning).toContain('runs on the local llama-server only');

    const off = await synaptic(['distributed', 'off'], env);
    expect(off.code, off.stderr).toBe(0);
  }, 180_000);
});
