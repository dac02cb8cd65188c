import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedNode, type EmbeddedNode } from '../../electron/control/embedded';

const ROOT = resolve(__dirname, '../..');
const MODELS_DIR = resolve(ROOT, '../shared/models');
const TINY_MODEL = join(MODELS_DIR, 'llama-2-tiny-random.gguf');

/** Lays out an Ollama store whose model blob is a symlink to the tiny GGUF. */
async function createStore(): Promise<string> {
  const store = await mkdtemp(join(tmpdir(), 'embedded-store-'));
  await mkdir(join(store, 'blobs'));
  const hex = createHash('sha256').update(await readFile(TINY_MODEL)).digest('hex');
  await symlink(TINY_MODEL, join(store, 'blobs', `sha256-${hex}`));
  const layer = { mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${hex}`, size: (await stat(TINY_MODEL)).size };
  for (const [namespace, model, tag] of [
    ['library', 'storetiny', 'latest'],
    ['someone', 'storetiny', 'q4'],
  ]) {
    const dir = join(store, 'manifests', 'registry.ollama.ai', namespace, model);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, tag), JSON.stringify({ schemaVersion: 2, layers: [layer] }));
  }
  return store;
}

describe('embedded node with an Ollama store', () => {
  let store: string;
  let node: EmbeddedNode;

  beforeAll(async () => {
    store = await createStore();
    node = await startEmbeddedNode({ ollamaStoreDirs: [store], threads: 1 });
  });

  afterAll(async () => {
    await node?.close();
    await rm(store, { recursive: true, force: true });
  });

  it('lists store models by display name', async () => {
    const { models } = await new Ollama({ host: node.url }).list();
    expect(models.map((model) => model.name).sort()).toEqual(['someone/storetiny:q4', 'storetiny:latest']);
  });

  it('generates with a store model', async () => {
    const client = new Ollama({ host: node.url });
    for (const name of ['storetiny', 'someone/storetiny:q4']) {
      const reply = await client.generate({ model: name, prompt: 'x', stream: false, options: { num_predict: 3 } });
      expect(reply.model).toBe(name);
      expect(reply.eval_count).toBe(3);
    }
  });
});

type Run = { code: number | null; stdout: string; stderr: string };

function runCli(args: string[], onListening?: (url: string, child: ReturnType<typeof spawn>) => Promise<void>): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'electron/cli/node.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, SYNAPTIC_LOG_LEVEL: 'warn' },
    });
    let stdout = '';
    let stderr = '';
    let notified = false;
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match && onListening && !notified) {
        notified = true;
        onListening(match[1], child).catch(fail);
      }
    });
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('node CLI', () => {
  it('serves until SIGTERM and exits 0', async () => {
    let served = '';
    const run = await runCli(['--port', '0', '--models', MODELS_DIR, '--no-ollama-store', '--threads', '1'], async (url, child) => {
      served = await (await fetch(url)).text();
      const { models } = await new Ollama({ host: url }).list();
      expect(models).toHaveLength(2);
      child.kill('SIGTERM');
    });
    expect(served).toBe('Ollama is running');
    expect(run.code).toBe(0);
  });

  it('rejects bad flags with exit code 2', async () => {
    const cases: [string[], string][] = [
      [['--port', 'abc'], 'invalid value "abc" for --port'],
      [['--bogus'], 'unknown flag "--bogus"'],
      [['--models', '/nonexistent/models'], 'invalid value "/nonexistent/models" for --models'],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toContain(message);
    }
  });
});
