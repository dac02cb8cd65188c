/**
 * Measures what the gateway adds on loopback: the same requests sent straight to a node and
 * through the gateway, alternating, against a minimal Ollama-shaped server (pure proxy overhead)
 * and against a real embedded node (node-llama-cpp with tiny-llama-8L). The mock node, the
 * embedded node and the gateway each run in their own child process, so the load generator does
 * not share an event loop with what it measures.
 *
 *   npm run bench:gateway -- [--requests 400] [--engine-requests 40] [--concurrency 8] [--write-docs]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createSilentLogger } from '../electron/control/core/logger';
import { startEmbeddedNode } from '../electron/control/embedded';
import { ControlPlane } from '../electron/control/plane';
import { percentile } from '../electron/control/router/node-stats';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

type Sample = { latencyMs: number; firstLineMs: number };

/** Sends one POST and resolves when the body has ended, timing the first received byte. */
function post(base: string, path: string, body: string): Promise<Sample> {
  const started = performance.now();
  return new Promise((resolvePost, reject) => {
    const req = request(`${base}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let firstLineMs = -1;
      res.on('data', () => {
        if (firstLineMs < 0) firstLineMs = performance.now() - started;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`${path} returned ${res.statusCode}`));
        else resolvePost({ latencyMs: performance.now() - started, firstLineMs });
      });
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`${path} sent nothing for 60 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Starts a minimal Ollama-shaped node that responds at once, so only the proxy's cost is measured. */
async function startMockNode(lines: number): Promise<{ url: string; server: Server }> {
  const entry = { name: 'bench-mock:latest', model: 'bench-mock:latest', size: 1, digest: 'b'.repeat(64), modified_at: new Date().toISOString(), details: { format: 'gguf' } };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const json = (value: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (path === '/') return void res.writeHead(200).end('Ollama is running');
      if (path === '/api/version') return json({ version: '0.12.0' });
      if (path === '/api/tags') return json({ models: [entry] });
      if (path === '/api/ps') return json({ models: [] });
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { stream?: boolean; model?: string };
      if (body.stream === false) return json({ model: body.model, response: 'ok', done: true, eval_count: 1 });
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (let i = 0; i < lines; i++) res.write(JSON.stringify({ model: body.model, response: 'x', done: false }) + '\n');
      res.end(JSON.stringify({ model: body.model, response: '', done: true, done_reason: 'stop' }) + '\n');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

type Figures = { p50: number; p99: number; ttfl50: number; rps: number };

async function measure(base: string, model: string, requests: number, concurrency: number, numPredict: number): Promise<Figures> {
  const nonStream = JSON.stringify({ model, prompt: 'hi', stream: false, options: { num_predict: numPredict } });
  const streamed = JSON.stringify({ model, prompt: 'hi', options: { num_predict: numPredict } });
  const latencies: number[] = [];
  const firstLines: number[] = [];
  for (let i = 0; i < requests; i++) latencies.push((await post(base, '/api/generate', nonStream)).latencyMs);
  for (let i = 0; i < Math.ceil(requests / 4); i++) firstLines.push((await post(base, '/api/generate', streamed)).firstLineMs);

  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next += 1;
        await post(base, '/api/generate', nonStream);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { p50: percentile(latencies, 0.5)!, p99: percentile(latencies, 0.99)!, ttfl50: percentile(firstLines, 0.5)!, rps: requests / seconds };
}

/**
 * Returns the CPU time (user + system) a process has used, in ms, from `/proc/<pid>/stat`; null
 * where there is no `/proc`. NOTE: assumes 100 clock ticks per second, the Linux default.
 */
function cpuMsOf(pid: number | undefined): number | null {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return null;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

type CpuWatch = { node?: number; gateway?: number };
type CpuPerRequest = { node: number | null; gateway: number | null };

/** Runs direct and gateway rounds alternately and keeps the median of each figure, plus CPU per request. */
async function compare(direct: string, gateway: string, model: string, requests: number, concurrency: number, numPredict: number, rounds: number, pids: CpuWatch) {
  const runs: Record<'direct' | 'gateway', Figures[]> = { direct: [], gateway: [] };
  await measure(direct, model, Math.min(20, requests), 2, numPredict);
  await measure(gateway, model, Math.min(20, requests), 2, numPredict);
  const perRound = requests * 2 + Math.ceil(requests / 4);
  let nodeCpu = 0;
  let gatewayCpu = 0;
  for (let round = 0; round < rounds; round++) {
    process.stderr.write(`${model}: round ${round + 1} of ${rounds}\n`);
    const nodeBefore = cpuMsOf(pids.node);
    runs.direct.push(await measure(direct, model, requests, concurrency, numPredict));
    nodeCpu += (cpuMsOf(pids.node) ?? 0) - (nodeBefore ?? 0);
    const gatewayBefore = cpuMsOf(pids.gateway);
    runs.gateway.push(await measure(gateway, model, requests, concurrency, numPredict));
    gatewayCpu += (cpuMsOf(pids.gateway) ?? 0) - (gatewayBefore ?? 0);
  }
  const cpu: CpuPerRequest = {
    node: cpuMsOf(pids.node) === null ? null : nodeCpu / (perRound * rounds),
    gateway: cpuMsOf(pids.gateway) === null ? null : gatewayCpu / (perRound * rounds),
  };
  const median = (list: Figures[], key: keyof Figures) => percentile(list.map((f) => f[key]), 0.5)!;
  const pick = (list: Figures[]): Figures => ({ p50: median(list, 'p50'), p99: median(list, 'p99'), ttfl50: median(list, 'ttfl50'), rps: median(list, 'rps') });
  return { direct: pick(runs.direct), gateway: pick(runs.gateway), cpu };
}

function rows(label: string, result: { direct: Figures; gateway: Figures; cpu: CpuPerRequest }): string[] {
  const f = (n: number) => n.toFixed(2);
  const cpu = (n: number | null) => (n === null ? 'n/a' : n.toFixed(2));
  const { direct, gateway } = result;
  return [
    `| ${label} | direct | ${f(direct.p50)} | ${f(direct.p99)} | ${f(direct.ttfl50)} | ${direct.rps.toFixed(0)} | ${cpu(result.cpu.node)} (node) | |`,
    `| ${label} | gateway | ${f(gateway.p50)} | ${f(gateway.p99)} | ${f(gateway.ttfl50)} | ${gateway.rps.toFixed(0)} | ${cpu(result.cpu.gateway)} (gateway) | +${f(gateway.p50 - direct.p50)} ms p50, ${((gateway.rps / direct.rps) * 100).toFixed(0)}% throughput |`,
  ];
}

async function writeDocs(section: string): Promise<void> {
  const path = join(process.cwd(), 'docs', 'benchmarks.md');
  await mkdir(join(process.cwd(), 'docs'), { recursive: true });
  let text = '# Benchmarks\n';
  try {
    text = await readFile(path, 'utf8');
  } catch {
    // First benchmark written: start the page.
  }
  const start = '<!-- gateway:start -->';
  const end = '<!-- gateway:end -->';
  const block = `${start}\n${section}\n${end}`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  text = from >= 0 && to > from ? text.slice(0, from) + block + text.slice(to + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  await writeFile(path, text);
}

function positive(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`bench-gateway: invalid --${name} '${raw}': expected a positive integer\n`);
    process.exit(2);
  }
  return value;
}

/** Runs one server role in this process and prints its URL as one JSON line. */
async function serveRole(role: string, args: string[]): Promise<void> {
  if (role === 'mock') {
    const mock = await startMockNode(16);
    process.stdout.write(`${JSON.stringify({ url: mock.url })}\n`);
    return;
  }
  if (role === 'engine') {
    const modelsDir = await mkdtemp(join(tmpdir(), 'bench-gateway-'));
    await symlink(resolve('..', 'shared', 'models', 'tiny-llama-8L.gguf'), join(modelsDir, 'tiny-llama-8L.gguf'));
    const engine = await startEmbeddedNode({ host: '127.0.0.1', port: 0, modelsDir, ollamaStoreDirs: false, log: createSilentLogger() });
    process.on('SIGTERM', () => void engine.close().finally(() => rm(modelsDir, { recursive: true, force: true }).finally(() => process.exit(0))));
    process.stdout.write(`${JSON.stringify({ url: engine.url })}\n`);
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-gateway-data-'));
  const plane = new ControlPlane({ dataDir, port: 0, discoverLocal: false, embedded: false, log: createSilentLogger() });
  await plane.start();
  for (const [index, url] of args.entries()) await plane.nodes.add({ url, name: `node-${index + 1}` });
  process.on('SIGTERM', () => void plane.stop().finally(() => rm(dataDir, { recursive: true, force: true }).finally(() => process.exit(0))));
  process.stdout.write(`${JSON.stringify({ url: plane.gateway.url() })}\n`);
}

/** Starts this script in a server role and waits for the URL it prints. */
function startRole(children: ChildProcess[], role: string, args: string[] = []): Promise<string> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], '--role', role, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolveUrl, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolveUrl((JSON.parse(line) as { url: string }).url);
    });
    child.on('exit', (code) => reject(new Error(`bench role ${role} exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      role: { type: 'string' },
      requests: { type: 'string', default: '400' },
      'engine-requests': { type: 'string', default: '40' },
      concurrency: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '3' },
      'write-docs': { type: 'boolean', default: false },
    },
  });
  if (values.role) return serveRole(values.role, positionals);

  const requests = positive('requests', values.requests!);
  const engineRequests = positive('engine-requests', values['engine-requests']!);
  const concurrency = positive('concurrency', values.concurrency!);
  const rounds = positive('rounds', values.rounds!);

  const children: ChildProcess[] = [];
  const loadBefore = loadavg()[0];
  try {
    const mock = await startRole(children, 'mock');
    const engine = await startRole(children, 'engine');
    const gateway = await startRole(children, 'gateway', [mock, engine]);

    const [mockPid, enginePid, gatewayPid] = children.map((child) => child.pid);
    const overhead = await compare(mock, gateway, 'bench-mock', requests, concurrency, 1, rounds, { node: mockPid, gateway: gatewayPid });
    const real = await compare(engine, gateway, 'tiny-llama-8L', engineRequests, concurrency, 8, rounds, { node: enginePid, gateway: gatewayPid });

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const section = [
      '## Gateway overhead',
      '',
      `Command: \`npm run bench:gateway -- --requests ${requests} --engine-requests ${engineRequests} --concurrency ${concurrency} --rounds ${rounds} --write-docs\``,
      `Machine: ${cpus().length} logical CPUs (\`nproc\`), ${cpu}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. The machine was shared with other work while it ran: 1-minute load average ${loadBefore.toFixed(1)} at the start and ${loadavg()[0].toFixed(1)} at the end.`,
      '',
      'Each figure is the median of the rounds; direct and gateway rounds alternate. Latency is a non-streamed',
      '`/api/generate`, time to first line is a streamed one, and throughput runs the same non-streamed request',
      `with ${concurrency} clients at once. "mock" is an instant Ollama-shaped server on loopback (pure proxy cost);`,
      '"engine" is the embedded node running tiny-llama-8L with `num_predict` 8. Load generator, mock node,',
      'embedded node and gateway are four processes on the same machine, so with more runnable processes than',
      'cores the extra hop through the gateway also waits for the scheduler. Targets: at most 1 ms added at p50 and',
      'at least 90% of direct throughput. "CPU ms/request" is the CPU time (user + system, from `/proc`) that the',
      'node process used per request on the direct path, and that the gateway process used per request it proxied.',
      '',
      '| target | path | p50 ms | p99 ms | first line p50 ms | requests/s | CPU ms/request | gateway cost |',
      '|---|---|---|---|---|---|---|---|',
      ...rows('mock', overhead),
      ...rows('engine', real),
    ].join('\n');
    process.stdout.write(`${section}\n`);
    if (values['write-docs']) await writeDocs(section);
  } finally {
    agent.destroy();
    for (const child of children) child.kill('SIGTERM');
  }
}

main().catch((error) => {
  process.stderr.write(`bench-gateway: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
