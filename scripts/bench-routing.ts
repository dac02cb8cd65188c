/**
 * Routing benchmark over the simulated home-lab fleet. Runs one fixed-seed mixed workload under
 * each strategy, with and without the placement controller and hedging, and compares the
 * makespan with a lower bound computed from the fleet profile. Requests go through the
 * Ollama-compatible gateway of a real ControlPlane whose nodes are the simulated fleet, so
 * routing, breakers, learning, hedging and placement run exactly as in the product. With
 * --direct they go through ClosedLoopDriver straight to the nodes instead.
 *
 *   npm run bench:routing -- [--requests 200] [--concurrency 8] [--seed 42] [--speed 5]
 *                            [--profile home-lab] [--repeat 1] [--direct] [--write-docs]
 *
 * With --repeat N each configuration runs N times and the run with the median makespan is kept.
 *
 * The last line of output is one JSON object with the headline ratios.
 */
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createSilentLogger } from '../electron/control/core/logger';
import { percentile } from '../electron/control/learning/statistics';
import type { Strategy } from '../electron/control/scoring/candidate';
import { ClosedLoopDriver, type RequestRecord } from '../electron/control/sim/driver';
import type { HedgeCounters } from '../electron/control/hedging/hedge';
import { ControlPlane } from '../electron/control/plane';
import type { SimFleet } from '../electron/control/sim/fleet';
import { bundledProfilePath, startFleet } from '../electron/control/sim/fleet';
import { loadFleetProfile, type FleetProfile } from '../electron/control/sim/profile';
import { buildWorkload, oracleMakespanMs, type WorkItem } from '../electron/control/sim/workload';

type Config = { label: string; strategy: Strategy; controller: boolean; hedging: boolean };

type RunResult = Config & {
  makespanMs: number;
  /** Fastest and slowest makespan over the repeats. */
  makespanRangeMs: [number, number];
  p50Ms: number;
  p99Ms: number;
  meanTtftMs: number;
  errors: number;
  cpuServedShare: number;
  hedgesSent: number;
  hedgesWon: number;
};

const configs: Config[] = [
  { label: 'round_robin', strategy: 'round_robin', controller: false, hedging: false },
  { label: 'random', strategy: 'random', controller: false, hedging: false },
  { label: 'least_loaded', strategy: 'least_loaded', controller: false, hedging: false },
  { label: 'fastest', strategy: 'fastest', controller: false, hedging: false },
  { label: 'intelligent', strategy: 'intelligent', controller: false, hedging: false },
  { label: 'intelligent + controller', strategy: 'intelligent', controller: true, hedging: false },
  { label: 'intelligent + controller + hedging', strategy: 'intelligent', controller: true, hedging: true },
];

function positiveNumber(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`invalid --${name} '${raw}': expected a positive number`);
  return value;
}

type Run = { records: RequestRecord[]; makespanMs: number; hedges: HedgeCounters };

/** Runs the workload through ClosedLoopDriver, straight to the simulated nodes. */
async function runDirect(config: Config, fleet: SimFleet, items: WorkItem[], concurrency: number, seed: number, dataDir: string): Promise<Run> {
  const driver = new ClosedLoopDriver({ fleet, strategy: config.strategy, controller: config.controller, hedging: config.hedging, seed, dataDir, log: createSilentLogger() });
  const started = performance.now();
  const records = await driver.run(items, concurrency);
  return { records, makespanMs: (performance.now() - started) * fleet.clock.speed, hedges: driver.hedgeCounters };
}

/**
 * Runs the workload through the gateway of a ControlPlane that has the simulated nodes as its
 * fleet. Real-time settings of the loop (health interval, hedge delays, placement cooldown) are
 * divided by the speed factor so they keep their simulated length.
 */
async function runThroughGateway(config: Config, fleet: SimFleet, items: WorkItem[], concurrency: number, dataDir: string): Promise<Run> {
  const speed = fleet.clock.speed;
  const plane = new ControlPlane({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    discoverLocal: false,
    embedded: false,
    log: createSilentLogger(),
    health: { intervalMs: Math.max(200, 5_000 / speed), probeTimeoutMs: 3_000, slowMs: 3_000, maxBackoffMs: 10_000 },
    closedLoop: { hedgeFloorMs: 200 / speed, hedgeFallbackMs: 3_000 / speed, placementCooldownMs: 30_000 / speed },
  });
  await plane.start();
  try {
    const nodeParallel: Record<string, number> = {};
    for (const node of fleet.nodes) {
      const view = await plane.nodes.add({ url: node.url, name: node.name, gpuVramBytes: node.engine.profile.gpuVramBytes }, { persist: false });
      nodeParallel[view.id] = node.engine.profile.parallel;
    }
    await plane.closedLoop.updateSettings({ strategy: config.strategy, controller: config.controller, hedging: config.hedging, nodeParallel });
    const gateway = plane.gateway.url()!;

    const records: RequestRecord[] = new Array(items.length);
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      while (next < items.length) {
        const item = items[next++];
        records[item.index] = await sendThroughGateway(gateway, item, speed);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const makespanMs = (performance.now() - started) * speed;
    return { records, makespanMs, hedges: { ...plane.closedLoop.hedgeCounters } };
  } finally {
    await plane.stop();
  }
}

/** Sends one work item to the gateway and reads the whole response; times are simulated ms. */
async function sendThroughGateway(gateway: string, item: WorkItem, speed: number): Promise<RequestRecord> {
  const started = performance.now();
  const record = (fields: Partial<RequestRecord> & { ok: boolean }): RequestRecord => ({
    index: item.index,
    nodeId: null,
    latencyMs: (performance.now() - started) * speed,
    hedged: false,
    backupWon: false,
    ...fields,
  });
  try {
    const response = await fetch(`${gateway}${item.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-synaptic-priority': String(item.priority) },
      body: JSON.stringify(item.body),
    });
    if (!response.body) return record({ ok: false, error: `status ${response.status} without a body` });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let ttftMs: number | undefined;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (ttftMs === undefined) ttftMs = (performance.now() - started) * speed;
      text += decoder.decode(value, { stream: true });
    }
    const lines = text.trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1]) as { error?: string };
    if (!response.ok || last.error) return record({ ok: false, ttftMs, error: last.error ?? `status ${response.status}` });
    return record({ ok: true, ttftMs });
  } catch (error) {
    return record({ ok: false, error: (error as Error).message });
  }
}

async function runConfig(config: Config, profile: FleetProfile, items: WorkItem[], concurrency: number, speed: number, seed: number, direct: boolean): Promise<RunResult> {
  const fleet = await startFleet(profile, { speed });
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-routing-'));
  try {
    const run = direct ? await runDirect(config, fleet, items, concurrency, seed, dataDir) : await runThroughGateway(config, fleet, items, concurrency, dataDir);
    const { records, makespanMs } = run;
    const ok = records.filter((r) => r.ok);
    const latencies = ok.map((r) => r.latencyMs);
    const ttfts = ok.filter((r) => r.ttftMs !== undefined).map((r) => r.ttftMs!);
    const served = fleet.nodes.reduce((acc, n) => ({ gpu: acc.gpu + n.engine.stats.servedOn.gpu, other: acc.other + n.engine.stats.servedOn.cpu + n.engine.stats.servedOn.partial }), { gpu: 0, other: 0 });
    return {
      ...config,
      makespanMs,
      makespanRangeMs: [makespanMs, makespanMs],
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      meanTtftMs: ttfts.reduce((s, v) => s + v, 0) / Math.max(1, ttfts.length),
      errors: records.length - ok.length,
      cpuServedShare: served.other / Math.max(1, served.gpu + served.other),
      hedgesSent: run.hedges.sent,
      hedgesWon: run.hedges.won,
    };
  } finally {
    await fleet.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function table(results: RunResult[], oracleMs: number): string {
  const s = (ms: number) => (ms / 1000).toFixed(1);
  const rows = results.map(
    (r) => `| ${r.label} | ${s(r.makespanMs)} (${s(r.makespanRangeMs[0])}–${s(r.makespanRangeMs[1])}) | ${(r.makespanMs / oracleMs).toFixed(2)} | ${s(r.p50Ms)} | ${s(r.p99Ms)} | ${s(r.meanTtftMs)} | ${(r.cpuServedShare * 100).toFixed(0)}% | ${r.hedgesSent}/${r.hedgesWon} | ${r.errors} |`,
  );
  return [
    '| configuration | makespan s (range) | vs lower bound | p50 s | p99 s | mean TTFT s | served on CPU/partial | hedges sent/won | errors |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

async function writeDocs(section: string): Promise<void> {
  const path = join(process.cwd(), 'docs', 'benchmarks.md');
  await mkdir(join(process.cwd(), 'docs'), { recursive: true });
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch {
    text = '# Benchmarks\n';
  }
  const start = '<!-- routing:start -->';
  const end = '<!-- routing:end -->';
  const block = `${start}\n${section}\n${end}`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  text = from >= 0 && to > from ? text.slice(0, from) + block + text.slice(to + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  await writeFile(path, text);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '8' },
      seed: { type: 'string', default: '42' },
      speed: { type: 'string', default: '5' },
      profile: { type: 'string', default: 'home-lab' },
      'write-docs': { type: 'boolean', default: false },
      repeat: { type: 'string', default: '1' },
      direct: { type: 'boolean', default: false },
    },
  });
  const requests = positiveNumber('requests', values.requests);
  const concurrency = positiveNumber('concurrency', values.concurrency);
  const seed = positiveNumber('seed', values.seed);
  const speed = positiveNumber('speed', values.speed);
  const profile = await loadFleetProfile(values.profile.endsWith('.json') ? values.profile : bundledProfilePath(values.profile));
  const items = buildWorkload(requests, seed, { chat: 'llama3.2:latest', code: 'qwen2.5-coder:7b', embed: 'nomic-embed-text:latest' });
  const oracleMs = oracleMakespanMs(items, profile, concurrency);

  const repeat = positiveNumber('repeat', values.repeat);
  const results: RunResult[] = [];
  for (const config of configs) {
    const runs: RunResult[] = [];
    for (let i = 0; i < repeat; i++) {
      const result = await runConfig(config, profile, items, concurrency, speed, seed, values.direct);
      console.log(`${config.label}: makespan ${(result.makespanMs / 1000).toFixed(1)} s (simulated), p99 ${(result.p99Ms / 1000).toFixed(1)} s, errors ${result.errors}`);
      runs.push(result);
    }
    const kept = median(runs);
    const spans = runs.map((r) => r.makespanMs);
    results.push({ ...kept, makespanRangeMs: [Math.min(...spans), Math.max(...spans)] });
  }

  const byLabel = (label: string) => results.find((r) => r.label === label)!;
  const best = byLabel('intelligent + controller');
  const hedged = byLabel('intelligent + controller + hedging');
  const summary = {
    makespan_vs_oracle: round(best.makespanMs / oracleMs),
    speedup_vs_round_robin: round(byLabel('round_robin').makespanMs / best.makespanMs),
    hedging_p99_reduction: round(1 - hedged.p99Ms / best.p99Ms),
    hedging_extra_requests: round(hedged.hedgesSent / requests),
    cpu_served_share_with_controller: round(best.cpuServedShare),
    cpu_served_share_without_controller: round(byLabel('intelligent').cpuServedShare),
  };

  const markdown = [
    '## Routing (simulated fleet)',
    '',
    `Command: \`npm run bench:routing -- --requests ${requests} --concurrency ${concurrency} --seed ${seed} --speed ${speed} --repeat ${repeat}${values.direct ? ' --direct' : ''} --write-docs\`, profile \`${profile.name}\`, on ${cpus().length} CPU cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${new Date().toISOString().slice(0, 10)}.`,
    values.direct
      ? 'Requests go from `ClosedLoopDriver` straight to the simulated nodes (not through the gateway). Times are simulated seconds:'
      : 'Requests go through the gateway of a real ControlPlane whose nodes are the simulated fleet. Times are simulated seconds:',
    `the simulator runs ${speed}x faster than real time, so every real millisecond of event-loop delay costs ${speed} simulated ms.`,
    values.direct
      ? 'All nodes and the driver share one Node process, so at high speed factors the overhead of the controller and hedging (extra HTTP calls) distorts the numbers.'
      : 'The simulated nodes, the control plane and the load generator share one Node process, so every extra HTTP call (placement reads, health checks, proxying) costs simulated time at the speed factor.',
    `Lower bound (all models on GPU where they fit, perfect packing): ${(oracleMs / 1000).toFixed(1)} s.`,
    `Each configuration ran ${repeat} time(s); the row is the run with the median makespan and the range spans all runs.`,
    'Slow episodes, CPU landings and timing make single runs vary widely, so compare ranges, not single numbers.',
    '',
    table(results, oracleMs),
    '',
    '```json',
    JSON.stringify(summary),
    '```',
  ].join('\n');
  console.log('\n' + markdown + '\n');
  if (values['write-docs']) await writeDocs(markdown);
  console.log(JSON.stringify(summary));
}

/** Picks the run with the median makespan, so one disturbed run does not set the table. */
function median(runs: RunResult[]): RunResult {
  const sorted = [...runs].sort((a, b) => a.makespanMs - b.makespanMs);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

main().catch((error: unknown) => {
  console.error(`bench:routing failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
