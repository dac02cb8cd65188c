import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultDataDir, parseServeFlags } from '../../electron/cli/serve';
import { cleanupHarness, startNode, tempDir, tinyLlama, type TestNode } from './gateway-harness';

const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const children: ChildProcess[] = [];
let node: TestNode | undefined;

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await node?.close();
  await cleanupHarness();
});

describe('parseServeFlags', () => {
  it('fills in defaults', () => {
    const parsed = parseServeFlags([], { XDG_CONFIG_HOME: '/cfg' });
    expect(parsed).toEqual({
      ok: true,
      options: { host: '127.0.0.1', port: 11434, fallbackPort: 11435, uiPort: 8765, dataDir: defaultDataDir({ XDG_CONFIG_HOME: '/cfg' }), modelsDir: undefined, embedded: undefined, token: undefined, rpc: [], distributed: undefined },
    });
  });

  it('reads every flag', () => {
    const parsed = parseServeFlags(['--host', '0.0.0.0', '--port', '12000', '--fallback-port', '12001', '--ui-port', '0', '--models', '/m', '--data', '/d', '--no-embedded'], {});
    expect(parsed).toMatchObject({ ok: true, options: { host: '0.0.0.0', port: 12000, fallbackPort: 12001, uiPort: 0, modelsDir: '/m', dataDir: '/d', embedded: false } });
  });

  it('reads RPC backends and the distributed model', () => {
    const parsed = parseServeFlags(['--rpc', '127.0.0.1:50052, 127.0.0.1:50053', '--distributed', 'llama3.2'], {});
    expect(parsed).toMatchObject({ ok: true, options: { rpc: ['127.0.0.1:50052', '127.0.0.1:50053'], distributed: 'llama3.2' } });
  });

  const rejected: Array<[string[], string]> = [
    [['--rpc', '127.0.0.1'], "invalid RPC endpoint '127.0.0.1'"],
    [['--rpc', 'host:99999'], "invalid RPC endpoint 'host:99999'"],
    [['--distributed', ' '], "invalid --distributed ''"],
    [['--port', 'abc'], "invalid --port 'abc'"],
    [['--port', '70000'], "invalid --port '70000'"],
    [['--ui-port', '-1'], "--ui-port"],
    [['--fallback-port', '1.5'], "invalid --fallback-port '1.5'"],
    [['--host', ''], "invalid --host ''"],
    [['--data', ''], "invalid --data ''"],
    [['--bogus'], "'--bogus'"],
  ];
  it.each(rejected)('rejects %j naming the value', (argv, message) => {
    const parsed = parseServeFlags(argv, {});
    expect(parsed.ok).toBe(false);
    if (parsed.ok === false) expect(parsed.message).toContain(message);
  });

  it('uses the platform app-data folder', () => {
    expect(defaultDataDir({ XDG_CONFIG_HOME: '/x' }, 'linux')).toBe('/x/SynapticLlamas');
    expect(defaultDataDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32')).toContain('SynapticLlamas');
    expect(defaultDataDir({}, 'darwin')).toContain(join('Library', 'Application Support', 'SynapticLlamas'));
  });
});

describe('npm run serve', () => {
  it('exits with status 2 and names a bad flag value', async () => {
    const child = spawn(tsx, ['electron/cli/serve.ts', '--port', 'eleven'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain("invalid --port 'eleven'");
  });

  it('serves OLLAMA_HOST models, stops on SIGTERM', async () => {
    node = await startNode([tinyLlama]);
    const dataDir = await tempDir('synaptic-serve-');
    const child = spawn(tsx, ['electron/cli/serve.ts', '--port', '0', '--ui-port', '0', '--data', dataDir, '--no-embedded'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OLLAMA_HOST: node.url, SYNAPTIC_LOG_LEVEL: 'warn' },
    });
    children.push(child);
    let stdout = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    const gateway = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no gateway line in: ${stdout}`)), 60_000);
      child.stdout!.on('data', () => {
        const match = /gateway: (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stdout}`)));
    });
    expect(stdout).toMatch(/ui: +http:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).not.toContain('token:');

    expect(await (await fetch(`${gateway}/`)).text()).toBe('Ollama is running');
    const tags = (await (await fetch(`${gateway}/api/tags`)).json()) as { models: Array<{ name: string }> };
    expect(tags.models.map((m) => m.name)).toContain(`${tinyLlama}:latest`);

    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
