import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane } from '../../electron/control/plane';
import { createSilentLogger } from '../../electron/control/core/logger';
import { attachDiscovery } from '../../electron/control/discovery/attach';
import { createAgentService, registerAgentApi } from '../../electron/control/agents';
import { startUiServer, type UiServer } from '../../electron/control/ui-server';
import { startOllamaShaped, type TestHost } from './discovery-hosts';

const BIN = resolve(__dirname, '../../bin/synaptic.mjs');
const TOKEN = 'cli-test-token-0123456789abcdef';
const MODELS_DIR = resolve(__dirname, '../../../shared/models');
const MODEL = 'tiny-llama-8L';

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs the real `synaptic` launcher as a child process. */
function synaptic(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, SYNAPTIC_LOG_LEVEL: 'warn', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`synaptic ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

describe('synaptic command line', () => {
  let dataDir: string;
  let plane: ControlPlane;
  let ui: UiServer;
  let env: NodeJS.ProcessEnv;
  const hosts: TestHost[] = [];
  let ollamaPort = 0;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'synaptic-cli-'));
    // The test models never close a JSON reply, so short replies keep a chat turn within seconds.
    const short = { options: { num_predict: 8 } };
    await writeFile(join(dataDir, 'agents.json'), JSON.stringify({ researcher: short, critic: short, editor: short }));
    const log = createSilentLogger();
    // The plane runs the real embedded node (node-llama-cpp) on the two test models.
    plane = new ControlPlane({ dataDir, host: '127.0.0.1', port: 0, modelsDir: MODELS_DIR, embedded: true, discoverLocal: false, log });
    if (!plane.api.registered().includes('discovery:scan')) attachDiscovery(plane);
    if (!plane.api.registered().includes('chat:send')) {
      const agents = createAgentService({ router: plane.router, bus: plane.bus, dataDir, log });
      registerAgentApi(plane.api, agents);
      plane.attach({ name: 'agents', stop: () => agents.close() });
    }
    await plane.start();
    ui = await startUiServer({
      api: plane.api,
      bus: plane.bus,
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      staticDir: dataDir,
      log,
    });
    plane.attach({ name: 'UI server', stop: () => ui.close() });
    env = { SYNAPTIC_API: ui.url, SYNAPTIC_TOKEN: TOKEN, SYNAPTIC_DATA: dataDir };

    const first = await startOllamaShaped('127.0.0.41', 0, ['tiny:latest']);
    ollamaPort = first.port;
    hosts.push(first, await startOllamaShaped('127.0.0.42', ollamaPort, ['other:latest']));
  });

  afterAll(async () => {
    await plane?.stop();
    for (const host of hosts) await host.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('help lists every command', async () => {
    const run = await synaptic(['help']);
    expect(run.code).toBe(0);
    for (const name of ['serve', 'chat', 'nodes', 'add', 'remove', 'discover', 'health', 'metrics', 'rpc', 'distributed', 'bench', 'help']) {
      expect(run.stdout).toContain(`  ${name} `);
    }
    const one = await synaptic(['help', 'discover']);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('--timeout MS');
  });

  const usageCases: Array<[string, string[], string]> = [
    ['unknown command', ['frobnicate'], "unknown command 'frobnicate'"],
    ['unknown flag', ['nodes', '--verbose'], "unknown flag '--verbose'"],
    ['missing argument', ['add'], 'missing argument for add'],
    ['extra argument', ['nodes', 'extra'], "unexpected argument 'extra'"],
    ['bad port list', ['discover', '127.0.0.0/30', '--ports', '11434,abc'], "invalid value 'abc' for --ports"],
    ['port out of range', ['discover', '127.0.0.0/30', '--ports', '70000'], "invalid value '70000' for --ports"],
    ['bad concurrency', ['discover', '127.0.0.0/30', '--concurrency', '0'], "invalid value '0' for --concurrency"],
    ['range too large', ['discover', '127.0.0.0/21'], '/22 or smaller'],
    ['bad CIDR', ['discover', '127.0.0'], "'127.0.0' is not an IPv4 address"],
    ['chat without question', ['chat'], 'missing question'],
    ['bad chat mode', ['chat', '-i', 'hi', '--mode', 'serial'], "invalid --mode value 'serial'"],
    ['bad rpc action', ['rpc', 'frob'], "invalid rpc action 'frob'"],
    ['bad distributed action', ['distributed', 'maybe'], "invalid distributed action 'maybe'"],
    ['unknown help topic', ['help', 'nope'], "unknown command 'nope'"],
    ['bad api URL', ['nodes', '--api', 'ftp://x'], "invalid --api URL 'ftp://x'"],
  ];
  it.each(usageCases)('%s exits 2', async (_name, args, message) => {
    const run = await synaptic(args, { env });
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(2);
  });

  it('json errors carry code and message', async () => {
    const run = await synaptic(['discover', '127.0.0.0/21', '--json'], { env });
    expect(run.code).toBe(2);
    const body = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_argument');
    expect(body.error.message).toContain('2048 addresses');
  });

  it('add, nodes, remove round trip', async () => {
    const url = `http://127.0.0.41:${ollamaPort}`;
    const added = await synaptic(['add', url, '--name', 'box41', '--json'], { env });
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const node = JSON.parse(added.stdout) as { id: string; url: string; name: string };
    expect(node.url).toBe(url);
    expect(node.name).toBe('box41');

    const duplicate = await synaptic(['add', url], { env });
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('already in the fleet');

    const listed = await synaptic(['nodes', '--json'], { env });
    expect(listed.code).toBe(0);
    const nodes = JSON.parse(listed.stdout) as Array<{ url: string; health: string }>;
    expect(nodes.map((entry) => entry.url)).toContain(url);

    const table = await synaptic(['nodes'], { env });
    expect(table.stdout).toContain('box41');
    expect(table.stdout).toContain('HEALTH');

    const health = await synaptic(['health', '--json'], { env });
    const report = JSON.parse(health.stdout) as { nodes: Array<{ url: string; health: string }>; down: string[] };
    expect(report.nodes.find((entry) => entry.url === url)?.health).toBe('up');
    expect(health.code).toBe(0);

    const removed = await synaptic(['remove', url, '--json'], { env });
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ url, removed: true });

    const missing = await synaptic(['remove', url], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no node with URL or id '${url}'`);
  });

  it('metrics prints figures', async () => {
    const run = await synaptic(['metrics', '--json'], { env });
    expect(run.code).toBe(0);
    const figures = JSON.parse(run.stdout) as { totalRequests: number; nodes: unknown[] };
    expect(typeof figures.totalRequests).toBe('number');
    expect(Array.isArray(figures.nodes)).toBe(true);
  });

  it('discover lists and adds found nodes', async () => {
    const run = await synaptic(['discover', '127.0.0.40/29', '--ports', String(ollamaPort), '--json'], { env });
    expect(run.code).toBe(0);
    const view = JSON.parse(run.stdout) as { state: string; total: number; proposals: Array<{ id: string }>; added: unknown[] };
    expect(view.state).toBe('done');
    expect(view.total).toBe(6);
    expect(view.proposals.map((proposal) => proposal.id)).toEqual([
      `ollama:127.0.0.41:${ollamaPort}`,
      `ollama:127.0.0.42:${ollamaPort}`,
    ]);
    expect(view.added).toEqual([]);
    expect(plane.nodes.findByUrl(`http://127.0.0.42:${ollamaPort}`)).toBeUndefined();

    const adding = await synaptic(['discover', '127.0.0.42', '--ports', String(ollamaPort), '--add'], { env });
    expect(adding.code).toBe(0);
    expect(adding.stdout).toContain(`Added ollama:127.0.0.42:${ollamaPort}`);
    expect(plane.nodes.findByUrl(`http://127.0.0.42:${ollamaPort}`)).toBeDefined();
  });

  it('rpc and distributed reach their channels', async () => {
    const list = await synaptic(['rpc', 'list', '--json'], { env });
    const dist = await synaptic(['distributed', 'list', '--json'], { env });
    if (plane.api.registered().includes('rpc:list')) {
      expect(list.code).toBe(0);
      expect(Array.isArray(JSON.parse(list.stdout))).toBe(true);
      expect(dist.code).toBe(0);
    } else {
      expect(list.code).toBe(1);
      expect(list.stderr).toContain("this control plane does not offer 'rpc:list'");
      expect(dist.stderr).toContain("this control plane does not offer 'distributed:list'");
    }
  });

  it('chat answers through the agents', async () => {
    const run = await synaptic(['chat', '-i', 'Say hello', '--model', MODEL, '--mode', 'parallel', '--json'], {
      env,
      timeoutMs: 380_000,
    });
    expect(run.stderr).not.toContain('synaptic:');
    const body = JSON.parse(run.stdout) as { conversationId: string; model: string; mode: string; steps: Array<{ agent: string; nodeName?: string }> };
    expect(body.model).toBe(MODEL);
    expect(body.mode).toBe('parallel');
    expect(body.conversationId).toMatch(/.+/);
    expect(body.steps.length).toBeGreaterThanOrEqual(3);
    expect(body.steps.some((step) => step.nodeName === 'embedded')).toBe(true);
    expect([0, 1]).toContain(run.code);
  }, 400_000);

  it('bench reports latency through the gateway', async () => {
    const run = await synaptic(['bench', '--model', MODEL, '--requests', '2', '--concurrency', '2', '--max-tokens', '2', '--json'], {
      env,
      timeoutMs: 380_000,
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const report = JSON.parse(run.stdout) as { ok: number; failed: number; latencyP50Ms: number; ttftP50Ms: number; nodes: Record<string, number> };
    expect(report.ok).toBe(2);
    expect(report.failed).toBe(0);
    expect(report.latencyP50Ms).toBeGreaterThan(0);
    expect(report.ttftP50Ms).toBeGreaterThan(0);
    expect(report.nodes.embedded).toBe(2);
  }, 400_000);

  it('serve passes its flags through', async () => {
    const run = await synaptic(['serve', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--ui-port PORT');
    const bad = await synaptic(['serve', '--port', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("invalid --port 'x'");
  }, 120_000);

  it('explicit --api that nothing answers exits 1', async () => {
    const closed = 'http://127.0.0.1:9';
    const localData = await mkdtemp(join(tmpdir(), 'synaptic-closed-'));
    try {
      const run = await synaptic(['nodes', '--json', '--api', closed, '--data', localData], {
        env: { SYNAPTIC_TOKEN: '', SYNAPTIC_API: '', SYNAPTIC_DATA: '' },
      });
      expect(run.code).toBe(1);
      const failure = JSON.parse(run.stdout) as { error: { code: string; message: string } };
      expect(failure.error.code).toBe('failed');
      expect(failure.error.message).toContain(`no control plane responds at ${closed} (--api)`);

      const fromEnv = await synaptic(['nodes', '--data', localData], {
        env: { SYNAPTIC_TOKEN: '', SYNAPTIC_API: closed, SYNAPTIC_DATA: '' },
      });
      expect(fromEnv.code).toBe(1);
      expect(fromEnv.stderr).toContain(`no control plane responds at ${closed} (SYNAPTIC_API)`);
    } finally {
      await rm(localData, { recursive: true, force: true });
    }
  });

  it('in-process plane serves the --models folder', async () => {
    const localData = await mkdtemp(join(tmpdir(), 'synaptic-models-'));
    try {
      const run = await synaptic(['nodes', '--json', '--local', '--data', localData, '--models', MODELS_DIR], {
        env: { SYNAPTIC_TOKEN: '', SYNAPTIC_API: '', SYNAPTIC_DATA: '' },
      });
      expect(run.code, run.stderr).toBe(0);
      const nodes = JSON.parse(run.stdout) as Array<{ kind: string; models: Array<{ name: string }> }>;
      const embedded = nodes.find((node) => node.kind === 'embedded');
      expect(embedded?.models.map((model) => model.name)).toContain(`${MODEL}:latest`);
      expect(run.stderr).not.toContain('does not exist');
    } finally {
      await rm(localData, { recursive: true, force: true });
    }
  }, 120_000);

  it('runs in process without a server', async () => {
    const localData = await mkdtemp(join(tmpdir(), 'synaptic-local-'));
    try {
      const run = await synaptic(['nodes', '--json', '--local', '--data', localData], {
        env: { SYNAPTIC_TOKEN: '', SYNAPTIC_API: '', SYNAPTIC_DATA: '' },
        timeoutMs: 60_000,
      });
      expect(run.code).toBe(0);
      expect(Array.isArray(JSON.parse(run.stdout))).toBe(true);
      // A data folder without models/ is an empty catalogue with one warning line and no stack trace.
      expect(run.stderr).not.toContain('ENOENT');
      expect(run.stderr).not.toContain('stack');
      expect(run.stderr.match(/Models directory .* does not exist/g)).toHaveLength(1);

      const added = await synaptic(['add', `http://127.0.0.41:${ollamaPort}`, '--local', '--data', localData, '--json'], { timeoutMs: 60_000 });
      expect(added.code).toBe(0);
      const listed = await synaptic(['nodes', '--local', '--data', localData, '--json'], { timeoutMs: 60_000 });
      const urls = (JSON.parse(listed.stdout) as Array<{ url: string }>).map((node) => node.url);
      expect(urls).toContain(`http://127.0.0.41:${ollamaPort}`);
    } finally {
      await rm(localData, { recursive: true, force: true });
    }
  }, 240_000);

  it('wrong token is rejected', async () => {
    const run = await synaptic(['nodes'], { env: { ...env, SYNAPTIC_TOKEN: 'wrong-token-wrong-token' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('rejected the token');
  });

  it('interactive prompt runs commands and keeps history', async () => {
    const promptData = await mkdtemp(join(tmpdir(), 'synaptic-prompt-'));
    try {
      const input = ['nodes --json', 'help add', 'frob', 'discover 127.0.0.0/21', 'exit', 'nodes'].join('\n') + '\n';
      const run = await synaptic(['--data', promptData], { env, input });
      expect(run.code).toBe(2);
      expect(run.stdout).toContain('synaptic> ');
      expect(run.stdout).toContain('"url"');
      expect(run.stdout).toContain('synaptic add URL [--name NAME]');
      expect(run.stderr).toContain("unknown command 'frob'");
      expect(run.stderr).toContain('/22 or smaller');

      const history = (await readFile(join(promptData, 'cli-history'), 'utf8')).trim().split('\n');
      expect(history).toEqual(['nodes --json', 'help add', 'frob', 'discover 127.0.0.0/21']);

      const second = await synaptic(['--data', promptData], { env, input: 'help\n' });
      expect(second.code).toBe(0);
      const more = (await readFile(join(promptData, 'cli-history'), 'utf8')).trim().split('\n');
      expect(more.at(-1)).toBe('help');
      expect(more).toHaveLength(5);
    } finally {
      await rm(promptData, { recursive: true, force: true });
    }
  });
});
