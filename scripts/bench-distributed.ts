/**
 * Measures load time, time to first token and generation speed of tiny-llama-8L on three
 * set-ups: node-llama-cpp in process (the embedded engine), one local llama-server, and
 * llama-server with two ggml-rpc-server backends on loopback. Needs `npm run llama:build` first.
 *
 * Usage: npm run bench:distributed [-- --runs N --tokens N]
 */
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventBus } from '../electron/control/core/event-bus';
import { createSilentLogger } from '../electron/control/core/logger';
import { startEmbeddedNode } from '../electron/control/embedded';
import { DistributedService } from '../electron/control/llamacpp/service';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const MODEL = resolve(root, '../shared/models/tiny-llama-8L.gguf');
const PROMPT = 'The history of the llama begins';

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got '${process.argv[i + 1]}'`);
  return value;
}

const RUNS = argValue('runs', 3);
const TOKENS = argValue('tokens', 64);

type Run = { ttftMs: number; tokensPerSecond: number; tokens: number };
type Result = { setup: string; loadMs: number; runs: Run[] };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs the embedded node (node-llama-cpp behind its own Ollama API). It loads models on first
 * use, so load time is a generate with an empty prompt, which Ollama defines as load only.
 */
async function benchEmbedded(): Promise<Result> {
  const modelsDir = await mkdtemp(join(tmpdir(), 'bench-distributed-models-'));
  await symlink(MODEL, join(modelsDir, 'tiny-llama-8L.gguf'));
  const node = await startEmbeddedNode({ host: '127.0.0.1', port: 0, modelsDir, ollamaStoreDirs: false, log: createSilentLogger() });
  try {
    const started = performance.now();
    const load = await fetch(`${node.url}/api/generate`, {
      method: 'POST',
      body: JSON.stringify({ model: 'tiny-llama-8L', prompt: '', stream: false, options: { num_ctx: 2048 } }),
    });
    if (!load.ok) throw new Error(`embedded node failed to load the model: ${load.status} ${await load.text()}`);
    await load.arrayBuffer();
    const loadMs = performance.now() - started;
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await generateOnce(node.url, 'tiny-llama-8L'));
    return { setup: 'embedded node (node-llama-cpp in process)', loadMs, runs };
  } finally {
    await node.close();
    await rm(modelsDir, { recursive: true, force: true });
  }
}

/** Streams one raw generate through an Ollama API; TTFT is the arrival of the first NDJSON line. */
async function generateOnce(url: string, name: string): Promise<Run> {
  const t0 = performance.now();
  const res = await fetch(`${url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model: name, prompt: PROMPT, raw: true, stream: true, options: { num_predict: TOKENS, temperature: 0, num_ctx: 2048 } }),
  });
  if (!res.ok || !res.body) throw new Error(`generate failed with status ${res.status}: ${await res.text()}`);
  let first = 0;
  let buffered = '';
  let last: { eval_count?: number; eval_duration?: number; error?: string } = {};
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    if (!first) first = performance.now();
    buffered += decoder.decode(chunk, { stream: true });
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) last = JSON.parse(line);
  }
  if (last.error) throw new Error(last.error);
  const tokens = last.eval_count ?? 0;
  return { ttftMs: first - t0, tokensPerSecond: tokens / ((last.eval_duration ?? 1) / 1e9), tokens };
}

async function benchLlamaServer(service: DistributedService, setup: string, backends: string[]): Promise<Result> {
  const view = await service.startModel({ model: MODEL, backends, ctx: 2048 });
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await generateOnce(view.url, view.name));
  await service.stopModelById(view.id);
  return { setup, loadMs: view.loadMs ?? NaN, runs };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-distributed-'));
  const service = new DistributedService({ dataDir, bus: new EventBus(), log: createSilentLogger() });
  await service.init();
  const results: Result[] = [];
  const loadBefore = loadavg()[0];
  try {
    results.push(await benchEmbedded());
    results.push(await benchLlamaServer(service, 'llama-server, local CPU', []));
    const a = await service.startLocalRpc({ host: '127.0.0.1', register: false, threads: 1 });
    const b = await service.startLocalRpc({ host: '127.0.0.1', register: false, threads: 1 });
    results.push(await benchLlamaServer(service, 'llama-server + 2 ggml-rpc-server (loopback, 1 thread each)', [a.endpoint, b.endpoint]));
  } finally {
    await service.close();
    await rm(dataDir, { recursive: true, force: true });
  }

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(`model: tiny-llama-8L.gguf, prompt "${PROMPT}", ${TOKENS} tokens, temperature 0, ${RUNS} runs, median\n`);
  process.stdout.write(`machine: ${cpus().length} x ${cpu}, Node ${process.version}\n`);
  process.stdout.write(`1-minute load average: ${loadBefore.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end\n\n`);
  process.stdout.write('| set-up | load (ms) | TTFT (ms) | tokens/s | tokens/s range |\n|---|---|---|---|---|\n');
  for (const r of results) {
    const ttft = median(r.runs.map((x) => x.ttftMs));
    const tps = median(r.runs.map((x) => x.tokensPerSecond));
    const speeds = r.runs.map((x) => x.tokensPerSecond);
    const range = `${Math.min(...speeds).toFixed(0)}–${Math.max(...speeds).toFixed(0)}`;
    process.stdout.write(`| ${r.setup} | ${r.loadMs.toFixed(0)} | ${ttft.toFixed(1)} | ${tps.toFixed(0)} | ${range} |\n`);
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench:distributed failed: ${error.message}\n`);
  process.exit(1);
});
