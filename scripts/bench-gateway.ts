/**
 * Measures what the gateway adds on loopback. The same requests go straight to a node, through
 * the gateway, and through a plain forwarding proxy for reference, against a minimal
 * Ollama-shaped server (pure proxy cost) and against a real embedded node (node-llama-cpp with
 * tiny-llama-8L). Nodes, proxies and gateway each run in their own child process, so the load
 * generator does not share an event loop with what it measures.
 *
 *   npm run bench:gateway -- [--requests 400] [--engine-requests 40] [--concurrency 8] [--rounds 3] [--block-seconds 3] [--write-docs]
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

/**
 * Sends one POST and resolves when the body has ended, timing the first received byte. A request
 * on a kept-alive socket that the server had just closed is sent once more.
 */
async function post(base: string, path: string, body: string): Promise<Sample> {
  try {
    return await postOnce(base, path, body);
  } catch (error) {
    if ((error as { reusedSocket?: boolean }).reusedSocket) return postOnce(base, path, body);
    throw error;
  }
}

function postOnce(base: string, path: string, body: string): Promise<Sample> {
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
    req.on('error', (error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket })));
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
  // The paths take turns, so a connection may sit idle for a whole throughput block.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

/**
 * Starts a reference proxy that only forwards: it reads the body, sends it to one fixed node over
 * a keep-alive agent, and copies status, content type and body back. With no routing, parsing,
 * retries or cancellation, its cost is what one more loopback hop through Node costs here.
 */
async function startPlainProxy(target: string): Promise<string> {
  const node = new URL(target);
  const upstreamAgent = new Agent({ keepAlive: true, maxSockets: 256 });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const upstream = request(
        { hostname: node.hostname, port: node.port, path: req.url, method: req.method, agent: upstreamAgent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'application/json' });
          answer.on('data', (chunk: Buffer) => res.write(chunk));
          answer.on('end', () => res.end());
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

type Figures = { p50: number; p99: number; ttfl50: number; rps: number; cpuMs: number | null };
type PathName = 'direct' | 'gateway' | 'plain';
const pathNames: PathName[] = ['direct', 'gateway', 'plain'];
type Paths = Record<PathName, { url: string; pid: number | undefined }>;

/**
 * Sends the same request along every path in turn, `count` times, rotating which path goes
 * first, so that a slow spell of the machine or the engine falls on all paths alike.
 */
async function interleaved(paths: Paths, body: string, count: number, pick: (sample: Sample) => number): Promise<Record<PathName, number[]>> {
  const samples: Record<PathName, number[]> = { direct: [], gateway: [], plain: [] };
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < pathNames.length; k++) {
      const name = pathNames[(i + k) % pathNames.length];
      samples[name].push(pick(await post(paths[name].url, '/api/generate', body)));
    }
  }
  return samples;
}

/**
 * Sends requests from `concurrency` clients at once for `seconds`; returns requests/s and the CPU
 * ms the process used per request.
 */
async function throughput(url: string, pid: number | undefined, body: string, seconds: number, concurrency: number): Promise<{ rps: number; cpuMs: number | null }> {
  let done = 0;
  const cpuBefore = cpuMsOf(pid);
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await post(url, '/api/generate', body);
        done += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = cpuMsOf(pid);
  return { rps: done / elapsed, cpuMs: cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / done };
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

/**
 * Measures the three paths to one node. Latency and time to first line are pooled over all
 * rounds of interleaved requests. Throughput runs one block per path and round and keeps the
 * median block.
 */
async function compare(paths: Paths, model: string, requests: number, concurrency: number, numPredict: number, rounds: number, blockSeconds: number): Promise<Record<PathName, Figures>> {
  const nonStream = JSON.stringify({ model, prompt: 'hi', stream: false, options: { num_predict: numPredict } });
  const streamed = JSON.stringify({ model, prompt: 'hi', options: { num_predict: numPredict } });
  await interleaved(paths, nonStream, Math.min(20, requests), (s) => s.latencyMs);
  const latency: Record<PathName, number[]> = { direct: [], gateway: [], plain: [] };
  const firstLine: Record<PathName, number[]> = { direct: [], gateway: [], plain: [] };
  const blocks: Record<PathName, Array<{ rps: number; cpuMs: number | null }>> = { direct: [], gateway: [], plain: [] };
  for (let round = 0; round < rounds; round++) {
    process.stderr.write(`${model}: round ${round + 1} of ${rounds}\n`);
    const lat = await interleaved(paths, nonStream, requests, (s) => s.latencyMs);
    const first = await interleaved(paths, streamed, Math.ceil(requests / 4), (s) => s.firstLineMs);
    for (const name of pathNames) {
      latency[name].push(...lat[name]);
      firstLine[name].push(...first[name]);
    }
    for (let k = 0; k < pathNames.length; k++) {
      const name = pathNames[(round + k) % pathNames.length];
      // The direct block charges the node's CPU; the others charge the proxy's own process.
      blocks[name].push(await throughput(paths[name].url, paths[name].pid, nonStream, blockSeconds, concurrency));
    }
  }
  const result = {} as Record<PathName, Figures>;
  for (const name of pathNames) {
    const cpu = blocks[name].map((b) => b.cpuMs).filter((v): v is number => v !== null);
    result[name] = {
      p50: percentile(latency[name], 0.5)!,
      p99: percentile(latency[name], 0.99)!,
      ttfl50: percentile(firstLine[name], 0.5)!,
      rps: percentile(blocks[name].map((b) => b.rps), 0.5)!,
      cpuMs: cpu.length > 0 ? percentile(cpu, 0.5)! : null,
    };
  }
  return result;
}

function rows(label: string, result: Record<PathName, Figures>): string[] {
  const f = (n: number) => n.toFixed(2);
  const cpu = (n: number | null, process: string) => (n === null ? 'n/a' : `${n.toFixed(2)} (${process})`);
  const { direct } = result;
  const cost = (path: Figures) => `+${f(path.p50 - direct.p50)} ms p50, ${((path.rps / direct.rps) * 100).toFixed(0)}% throughput`;
  const line = (path: PathName, name: string, process: string, extra: string) => {
    const r = result[path];
    return `| ${label} | ${name} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.ttfl50)} | ${r.rps.toFixed(0)} | ${cpu(r.cpuMs, process)} | ${extra} |`;
  };
  return [
    line('direct', 'direct', 'node', ''),
    line('gateway', 'gateway', 'gateway', cost(result.gateway)),
    line('plain', 'plain proxy', 'proxy', cost(result.plain)),
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
  if (role === 'plain') {
    const proxy = await startPlainProxy(args[0]);
    process.stdout.write(`${JSON.stringify({ url: proxy })}\n`);
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
      'block-seconds': { type: 'string', default: '3' },
      'write-docs': { type: 'boolean', default: false },
    },
  });
  if (values.role) return serveRole(values.role, positionals);

  const requests = positive('requests', values.requests!);
  const engineRequests = positive('engine-requests', values['engine-requests']!);
  const concurrency = positive('concurrency', values.concurrency!);
  const rounds = positive('rounds', values.rounds!);
  const blockSeconds = positive('block-seconds', values['block-seconds']!);

  const children: ChildProcess[] = [];
  const loadBefore = loadavg()[0];
  try {
    const mock = await startRole(children, 'mock');
    const engine = await startRole(children, 'engine');
    const gateway = await startRole(children, 'gateway', [mock, engine]);
    const plainMock = await startRole(children, 'plain', [mock]);
    const plainEngine = await startRole(children, 'plain', [engine]);
    const [mockPid, enginePid, gatewayPid, plainMockPid, plainEnginePid] = children.map((child) => child.pid);

    const overhead = await compare(
      { direct: { url: mock, pid: mockPid }, gateway: { url: gateway, pid: gatewayPid }, plain: { url: plainMock, pid: plainMockPid } },
      'bench-mock', requests, concurrency, 1, rounds, blockSeconds,
    );
    const real = await compare(
      { direct: { url: engine, pid: enginePid }, gateway: { url: gateway, pid: gatewayPid }, plain: { url: plainEngine, pid: plainEnginePid } },
      'tiny-llama-8L', engineRequests, concurrency, 8, rounds, blockSeconds,
    );

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const section = [
      '## Gateway overhead',
      '',
      `Command: \`npm run bench:gateway -- --requests ${requests} --engine-requests ${engineRequests} --concurrency ${concurrency} --rounds ${rounds} --block-seconds ${blockSeconds} --write-docs\``,
      `Machine: ${cpus().length} logical CPUs (\`nproc\`), ${cpu}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. The machine was shared with other work while it ran: 1-minute load average ${loadBefore.toFixed(1)} at the start and ${loadavg()[0].toFixed(1)} at the end.`,
      '',
      'Three paths lead to the same node. "direct" goes straight to it. "gateway" goes through the',
      'SynapticLlamas gateway with routing, the closed loop and metrics on. "plain proxy" goes through a',
      'Node proxy of about 25 lines (in the benchmark script) that only forwards, to show what one more',
      'loopback hop costs on this machine before any of our code runs.',
      '',
      'Latency is a non-streamed `/api/generate` and time to first line a streamed one. Their requests',
      'take the three paths in turn, pooled over the rounds. Throughput sends the non-streamed request',
      `from ${concurrency} clients at once for ${blockSeconds} s, one block per path and round, and shows the median block.`,
      '"CPU ms/request" is the CPU time (user + system, from `/proc`) per request in the throughput',
      'blocks: the node process on the direct path, the proxy process on the others.',
      '',
      '"mock" is an instant Ollama-shaped server, so only proxy cost is measured. "engine" is the',
      'embedded node running tiny-llama-8L with `num_predict` 8. Load generator, nodes and proxies are',
      'separate processes sharing the machine\'s cores. Targets: at most 1 ms added at p50 and at least',
      '90% of direct throughput.',
      '',
      'Against the instant mock every path is limited by CPU, so throughput compares CPU per request,',
      'and the plain proxy marks the most a proxy written in Node reaches on this machine. Against the',
      'engine the node is the limit, and the proxies add one hop to each request.',
      '',
      '| target | path | p50 ms | p99 ms | first line p50 ms | requests/s | CPU ms/request | cost against direct |',
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
