import { Ollama } from 'ollama';
import type { SystemInfo } from '../../../../shared/api/system';
import type { RouteDecision } from '../../../../shared/types';
import { parseIntegerFlag } from '../command-line';
import { call, stringFlag, type CommandSpec } from '../context';
import { CliError } from '../errors';
import { formatMs, formatTable, percentile } from '../table';
import { chooseModel } from './chat';

type Sample = { ok: boolean; latencyMs: number; ttftMs?: number; tokensPerSecond?: number; error?: string };

export const benchCommand: CommandSpec = {
  name: 'bench',
  usage: 'bench [--model M] [--requests 8] [--concurrency 2] [--prompt TEXT] [--max-tokens 32]',
  summary: "Send chat requests through the gateway and report latency, time to first token and tokens/s",
  details: [
    '--requests N      requests in all (default 8)',
    '--concurrency N   requests in flight at once (default 2)',
    '--max-tokens N    num_predict for each request (default 32)',
    '--prompt TEXT     the user message (default: a short fixed question)',
  ],
  options: {
    model: { type: 'string' },
    requests: { type: 'string' },
    concurrency: { type: 'string' },
    prompt: { type: 'string' },
    'max-tokens': { type: 'string' },
  },
  minArgs: 0,
  maxArgs: 0,
  async run(context) {
    const requests = parseIntegerFlag('requests', stringFlag(context, 'requests') ?? '8', 1, 10_000);
    const concurrency = parseIntegerFlag('concurrency', stringFlag(context, 'concurrency') ?? '2', 1, 256);
    const maxTokens = parseIntegerFlag('max-tokens', stringFlag(context, 'max-tokens') ?? '32', 1, 8192);
    const prompt = stringFlag(context, 'prompt') ?? 'Name three uses of a llama.';
    const info = await call<SystemInfo>(context, 'system:info');
    if (!info.gateway.listening || info.gateway.port === null) {
      throw new CliError(`the gateway is not listening: ${info.gateway.message}`);
    }
    const model = await chooseModel(context);
    const host = info.gateway.host === '0.0.0.0' ? '127.0.0.1' : info.gateway.host;
    const client = new Ollama({ host: `http://${host}:${info.gateway.port}` });
    context.notice(`Benchmarking ${model}: ${requests} requests, ${concurrency} at a time, via ${host}:${info.gateway.port}`);

    const samples: Sample[] = [];
    let next = 0;
    const startedAt = Date.now();
    const started = performance.now();
    const worker = async () => {
      while (next < requests && !context.signal.aborted) {
        next += 1;
        samples.push(await timeOneChat(client, model, prompt, maxTokens));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, worker));
    const wallMs = performance.now() - started;
    client.abort();

    const decisions = await call<RouteDecision[]>(context, 'router:decisions', { limit: Math.min(1000, requests * 4) });
    const perNode = new Map<string, number>();
    // Decisions made since the benchmark started; a retried attempt counts once per node tried.
    const benchDecisions = decisions.filter((decision) => Date.parse(decision.at) >= startedAt);
    for (const decision of benchDecisions) {
      const name = decision.nodeName ?? '(none)';
      perNode.set(name, (perNode.get(name) ?? 0) + 1);
    }

    const summary = summarize(samples, wallMs);
    const json = { model, requests, concurrency, maxTokens, ...summary, nodes: Object.fromEntries(perNode) };
    const text = [
      `${summary.ok} ok, ${summary.failed} failed in ${formatMs(wallMs)} (${summary.requestsPerSecond.toFixed(2)} requests/s)`,
      formatTable(
        ['', 'P50', 'P95'],
        [
          ['latency', formatMs(summary.latencyP50Ms), formatMs(summary.latencyP95Ms)],
          ['first token', formatMs(summary.ttftP50Ms), formatMs(summary.ttftP95Ms)],
        ],
      ),
      `Generation: ${summary.tokensPerSecondMean === null ? '-' : summary.tokensPerSecondMean.toFixed(1)} tokens/s (mean)`,
      `Routing: ${[...perNode].map(([name, count]) => `${name} ${count}`).join(', ') || '-'}`,
      ...summary.errors.map((error) => `Error: ${error}`),
    ].join('\n');
    return { json, text, exitCode: summary.ok === 0 ? 1 : 0 };
  },
};

async function timeOneChat(client: Ollama, model: string, prompt: string, maxTokens: number): Promise<Sample> {
  const started = performance.now();
  let ttftMs: number | undefined;
  try {
    const stream = await client.chat({
      model,
      messages: [{ role: 'user', content: prompt }],
      stream: true,
      options: { num_predict: maxTokens },
    });
    let tokensPerSecond: number | undefined;
    for await (const part of stream) {
      if (ttftMs === undefined) ttftMs = performance.now() - started;
      if (part.done && part.eval_count > 0 && part.eval_duration > 0) {
        tokensPerSecond = part.eval_count / (part.eval_duration / 1e9);
      }
    }
    return { ok: true, latencyMs: performance.now() - started, ttftMs, tokensPerSecond };
  } catch (error) {
    return { ok: false, latencyMs: performance.now() - started, error: (error as Error)?.message ?? String(error) };
  }
}

function summarize(samples: Sample[], wallMs: number) {
  const ok = samples.filter((sample) => sample.ok);
  const latencies = ok.map((sample) => sample.latencyMs).sort((a, b) => a - b);
  const ttfts = ok.flatMap((sample) => (sample.ttftMs === undefined ? [] : [sample.ttftMs])).sort((a, b) => a - b);
  const rates = ok.flatMap((sample) => (sample.tokensPerSecond === undefined ? [] : [sample.tokensPerSecond]));
  return {
    ok: ok.length,
    failed: samples.length - ok.length,
    wallMs: Math.round(wallMs),
    requestsPerSecond: wallMs > 0 ? (ok.length * 1000) / wallMs : 0,
    latencyP50Ms: percentile(latencies, 0.5),
    latencyP95Ms: percentile(latencies, 0.95),
    ttftP50Ms: percentile(ttfts, 0.5),
    ttftP95Ms: percentile(ttfts, 0.95),
    tokensPerSecondMean: rates.length > 0 ? rates.reduce((sum, rate) => sum + rate, 0) / rates.length : null,
    errors: [...new Set(samples.flatMap((sample) => (sample.error ? [sample.error] : [])))],
  };
}
