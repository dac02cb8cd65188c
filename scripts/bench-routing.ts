/**
 * Routing benchmark over the simulated home-lab fleet. Runs one fixed-seed mixed workload under
 * each strategy, with and without the placement controller and hedging, and compares the
 * makespan with a lower bound computed from the fleet profile. Requests go through
 * ClosedLoopDriver (analysis, scoring, learning, breakers, hedging, placement) straight to the
 * simulated nodes, not through the gateway.
 *
 *   npm run bench:routing -- [--requests 200] [--concurrency 8] [--seed 42] [--speed 5]
 *                            [--profile home-lab] [--repeat 1] [--write-docs]
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

async function runConfig(config: Config, profile: FleetProfile, items: WorkItem[], concurrency: number, speed: number, seed: number): Promise<RunResult> {
  const fleet = await startFleet(profile, { speed });
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-routing-'));
  try {
    const driver = new ClosedLoopDriver({ fleet, strategy: config.strategy, controller: config.controller, hedging: config.hedging, seed, dataDir, log: createSilentLogger() });
    const started = performance.now();
    const records: RequestRecord[] = await driver.run(items, concurrency);
    const makespanMs = (performance.now() - started) * speed;
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
      hedgesSent: driver.hedgeCounters.sent,
      hedgesWon: driver.hedgeCounters.won,
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
      const result = await runConfig(config, profile, items, concurrency, speed, seed);
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
    `Command: \`npm run bench:routing -- --requests ${requests} --concurrency ${concurrency} --seed ${seed} --speed ${speed} --repeat ${repeat} --write-docs\`, profile \`${profile.name}\`, on ${cpus().length} CPU cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${new Date().toISOString().slice(0, 10)}.`,
    'Requests go from `ClosedLoopDriver` straight to the simulated nodes (not through the gateway). Times are simulated seconds:',
    `the simulator runs ${speed}x faster than real time, so every real millisecond of event-loop delay costs ${speed} simulated ms.`,
    'All nodes and the driver share one Node process, so at high speed factors the overhead of the controller and hedging (extra HTTP calls) distorts the numbers. A check run at speed 5 vs 20 moved intelligent + controller + hedging from worst to best of the three intelligent rows.',
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
