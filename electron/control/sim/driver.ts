import type { Logger } from '../core/logger';
import { analyzeRequest } from '../analysis/request-context';
import { BreakerBoard } from '../breaker/breaker-board';
import { HedgeBudget } from '../hedging/hedge-budget';
import { createHedgeCounters, hedgeDelayMs, runHedged, type HedgeCounters } from '../hedging/hedge';
import { pickHedgeTarget } from '../hedging/hedge-target';
import { LearningStore } from '../learning/learning-store';
import { classifyPlacement } from '../placement/classify';
import { fetchPs, type PsEntry } from '../placement/ollama-admin';
import { PlacementController } from '../placement/controller';
import type { ScoringCandidate, ScoringRequest, Strategy } from '../scoring/candidate';
import { createStrategyState, rankCandidates } from '../scoring/rank';
import { createSeededRandom } from '../scoring/seeded-random';
import type { SimFleet } from './fleet';
import { normalizeModelName } from './wire';
import type { WorkItem } from './workload';

export type DriverOptions = {
  fleet: SimFleet;
  strategy: Strategy;
  controller: boolean;
  hedging: boolean;
  seed: number;
  dataDir: string;
  log: Logger;
};

/** One finished benchmark request. Times are simulated milliseconds. */
export type RequestRecord = {
  index: number;
  nodeId: string | null;
  ok: boolean;
  latencyMs: number;
  ttftMs?: number;
  hedged: boolean;
  backupWon: boolean;
  error?: string;
};

type FirstByte = { reader: ReadableStreamDefaultReader<Uint8Array>; head: string; nodeId: string; firstByteAt: number };

/**
 * Routes a workload over a simulated fleet with the closed-loop pieces wired together the way
 * the gateway is meant to wire them: request analysis, scoring with a strategy, learned
 * statistics, per-node breakers, hedging and the placement controller. The benchmark uses it in
 * place of the gateway, so it measures routing decisions, not the gateway's proxying.
 */
export class ClosedLoopDriver {
  readonly hedgeCounters: HedgeCounters = createHedgeCounters();
  private readonly learning: LearningStore;
  private readonly breakers: BreakerBoard;
  private readonly budget = new HedgeBudget({ ratio: 0.05 });
  private readonly placement: PlacementController | undefined;
  private readonly strategyState = createStrategyState();
  private readonly random;
  private readonly loaded = new Map<string, PsEntry[]>();
  private readonly inFlightByNode = new Map<string, number>();
  private readonly inFlightByModel = new Map<string, number>();
  private readonly speed: number;

  constructor(private readonly options: DriverOptions) {
    this.speed = options.fleet.clock.speed;
    this.random = createSeededRandom(options.seed);
    this.learning = new LearningStore({ dataDir: options.dataDir, log: options.log });
    this.breakers = new BreakerBoard({ log: options.log });
    if (options.controller) {
      this.placement = new PlacementController({
        log: options.log,
        nodes: () => options.fleet.nodes.map((n) => ({ id: n.name, name: n.name, url: n.url, gpuVramBytes: n.engine.profile.gpuVramBytes || undefined })),
        inFlight: (nodeId, model) => this.inFlightByModel.get(`${nodeId}|${normalizeModelName(model)}`) ?? 0,
        cooldownMs: 30_000 / this.speed,
      });
    }
  }

  /** Runs the items with at most `concurrency` in flight; returns one record per item. */
  async run(items: WorkItem[], concurrency: number): Promise<RequestRecord[]> {
    await Promise.all(this.options.fleet.nodes.map((n) => this.refresh(n.name)));
    const records: RequestRecord[] = new Array(items.length);
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const item = items[next++];
        records[item.index] = await this.runOne(item);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return records;
  }

  private async runOne(item: WorkItem): Promise<RequestRecord> {
    const analysis = analyzeRequest({ path: item.path, body: item.body, headers: { 'x-synaptic-priority': String(item.priority) } });
    if (!analysis.ok) return { index: item.index, nodeId: null, ok: false, latencyMs: 0, hedged: false, backupWon: false, error: analysis.error };
    const context = analysis.context;
    const request: ScoringRequest = {
      priority: context.priority,
      prefersGpu: context.prefersGpu,
      expectedOutputTokens: context.maxOutputTokens ?? 64,
      numCtx: typeof context.options.num_ctx === 'number' ? context.options.num_ctx : undefined,
    };
    const tried: string[] = [];
    let lastError = 'no eligible node';

    for (let attempt = 0; attempt < 2; attempt++) {
      const candidates = this.candidates(item.model, context.taskType).filter((c) => !tried.includes(c.nodeId));
      const ranking = rankCandidates({ strategy: this.options.strategy, model: item.model, request, candidates, random: this.random, state: this.strategyState });
      const primary = ranking.ranked[0];
      if (!primary) break;
      tried.push(primary.candidate.nodeId);
      const backup = this.options.hedging && item.path !== '/api/embed' ? pickHedgeTarget(ranking.ranked, primary.candidate.nodeId, request) : undefined;
      const p95 = this.learning.p95TtftMs(primary.candidate.nodeId, item.model);
      const started = performance.now();
      try {
        const outcome = await runHedged<FirstByte>({
          primary: (signal) => this.send(primary.candidate.nodeId, item, signal),
          backup: backup ? (signal) => this.send(backup.candidate.nodeId, item, signal) : null,
          delayMs: hedgeDelayMs(p95, { floorMs: 200, fallbackMs: 3000 }) / this.speed,
          budget: this.budget,
          counters: this.hedgeCounters,
          dispose: (value) => void value.reader.cancel(),
        });
        const first = outcome.value;
        const final = await drain(first);
        const latencyMs = (performance.now() - started) * this.speed;
        const ttftMs = (first.firstByteAt - started) * this.speed;
        const tokensPerSec = final?.eval_count && final.eval_duration ? final.eval_count / (final.eval_duration / 1e9) : undefined;
        this.learning.record({ nodeId: first.nodeId, model: item.model, taskType: context.taskType, ok: true, latencyMs, ttftMs, tokensPerSec });
        this.breakers.get(first.nodeId).record({ ok: true, status: 200, latencyMs, expectedLatencyMs: this.learning.get(first.nodeId, item.model, context.taskType).latencyMs });
        return { index: item.index, nodeId: first.nodeId, ok: true, latencyMs, ttftMs, hedged: outcome.hedged, backupWon: outcome.winner === 'backup' };
      } catch (error) {
        const latencyMs = (performance.now() - started) * this.speed;
        const status = (error as { status?: number }).status;
        lastError = (error as Error).message;
        this.learning.record({ nodeId: primary.candidate.nodeId, model: item.model, taskType: context.taskType, ok: false, latencyMs });
        this.breakers.get(primary.candidate.nodeId).record({ ok: false, status, latencyMs });
      }
    }
    return { index: item.index, nodeId: null, ok: false, latencyMs: 0, hedged: false, backupWon: false, error: lastError };
  }

  /** Sends one request to a node and resolves at its first body chunk. */
  private async send(nodeId: string, item: WorkItem, signal: AbortSignal): Promise<FirstByte> {
    const node = this.options.fleet.node(nodeId);
    const modelKey = `${nodeId}|${normalizeModelName(item.model)}`;
    this.bump(this.inFlightByNode, nodeId, 1);
    this.bump(this.inFlightByModel, modelKey, 1);
    let handedOver = false;
    const release = () => {
      this.bump(this.inFlightByNode, nodeId, -1);
      this.bump(this.inFlightByModel, modelKey, -1);
      void this.refresh(nodeId).then(() => this.placement?.afterRequest(nodeId));
    };
    try {
      const res = await fetch(`${node.url}${item.path}`, { method: 'POST', body: JSON.stringify(item.body), signal });
      if (!res.ok || !res.body) {
        await res.arrayBuffer().catch(() => undefined);
        throw Object.assign(new Error(`${nodeId} returned ${res.status}`), { status: res.status });
      }
      const reader = res.body.getReader();
      const chunk = await reader.read();
      const wrapped: FirstByte = { reader, head: new TextDecoder().decode(chunk.value ?? new Uint8Array()), nodeId, firstByteAt: performance.now() };
      handedOver = true;
      // The slot stays claimed until the winner's body is drained or the loser is cancelled.
      void reader.closed.then(release, release);
      return wrapped;
    } finally {
      if (!handedOver) release();
    }
  }

  private candidates(model: string, taskType: Parameters<LearningStore['get']>[2]): ScoringCandidate[] {
    const wanted = normalizeModelName(model);
    return this.options.fleet.nodes.map((node) => {
      const profile = node.engine.profile;
      const copy = (this.loaded.get(node.name) ?? []).find((m) => normalizeModelName(m.name) === wanted);
      const usedVram = (this.loaded.get(node.name) ?? []).reduce((sum, m) => sum + m.size_vram, 0);
      const catalog = node.engine.findModel(model);
      const stats = this.learning.get(node.name, model, taskType);
      return {
        nodeId: node.name,
        nodeName: node.name,
        healthy: true,
        hasModel: catalog !== undefined,
        loaded: copy ? { placement: classifyPlacement(copy.size, copy.size_vram), gpuShare: copy.size > 0 ? copy.size_vram / copy.size : 0, contextLength: copy.context_length } : null,
        freeVramBytes: profile.gpuVramBytes > 0 ? Math.max(0, profile.gpuVramBytes - usedVram) : 0,
        modelSizeBytes: catalog?.sizeBytes,
        inFlight: this.inFlightByNode.get(node.name) ?? 0,
        parallel: profile.parallel,
        stats: { ttftMs: stats.ttftMs, tokensPerSec: stats.tokensPerSec, successRate: stats.successRate, latencyMs: stats.latencyMs, samples: stats.samples },
        breaker: this.breakers.state(node.name),
      };
    });
  }

  private async refresh(nodeId: string): Promise<void> {
    try {
      this.loaded.set(nodeId, await fetchPs(this.options.fleet.node(nodeId).url));
    } catch (error) {
      this.options.log.warn({ nodeId, err: error }, 'Reading /api/ps failed');
    }
  }

  private bump(map: Map<string, number>, key: string, delta: number): void {
    map.set(key, Math.max(0, (map.get(key) ?? 0) + delta));
  }
}

type FinalLine = { eval_count?: number; eval_duration?: number; error?: string };

/** Reads the rest of a response and returns its last JSON line. */
async function drain(first: FirstByte): Promise<FinalLine | undefined> {
  let text = first.head;
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await first.reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  const lines = text.trim().split('\n');
  const last = JSON.parse(lines[lines.length - 1]) as FinalLine;
  if (last.error) throw new Error(last.error);
  return last;
}
