import type { ServerResponse } from 'node:http';
import type { LoadedSimModel, SimEngine } from './engine';
import { sleep } from './engine';
import { estimateTokens } from './wire';

const words = ['the', 'fleet', 'routes', 'each', 'request', 'to', 'a', 'node', 'with', 'free', 'slots', 'and', 'warm', 'model', 'layers', 'on', 'its', 'GPU'];

export type GenerationRequest = {
  kind: 'chat' | 'generate';
  /** The model name exactly as the client sent it; responses echo it. */
  modelName: string;
  promptText: string;
  stream: boolean;
  numPredict: number | undefined;
  loadSimMs: number;
  entry: LoadedSimModel;
  signal: AbortSignal;
};

const msToNs = (ms: number) => Math.round(ms * 1_000_000);

/**
 * Generates a simulated answer at the node's current speed and writes it the way Ollama does:
 * NDJSON lines for a stream (one token per line, then a `done: true` line with durations in
 * nanoseconds), or one JSON object otherwise. Reported durations are simulated time, so
 * `eval_count / eval_duration` matches the profile's tokens per second at any speed factor.
 * Returns false when the client aborted or an injected fault cut the connection.
 */
export async function writeGeneration(engine: SimEngine, res: ServerResponse, request: GenerationRequest): Promise<boolean> {
  const { entry, signal } = request;
  const promptTokens = estimateTokens(request.promptText);
  const evalCount = request.numPredict && request.numPredict > 0 ? request.numPredict : 20 + Math.floor(engine.random() * 40);
  const doneReason = request.numPredict && request.numPredict > 0 ? 'length' : 'stop';
  const tokensPerSec = engine.currentTokensPerSecond(entry);
  const dieAfter = engine.random() < engine.profile.faults.dieMidStreamChance ? Math.min(3, evalCount - 1) : -1;
  const promptSimMs = (promptTokens / (tokensPerSec * engine.profile.promptSpeedup)) * 1000;
  const tokenSimMs = 1000 / tokensPerSec;

  await sleep(engine.realMs(promptSimMs), signal);

  const pieces: string[] = [];
  for (let i = 0; i < evalCount; i++) pieces.push((i === 0 ? '' : ' ') + words[Math.floor(engine.random() * words.length)]);

  const createdAt = () => new Date().toISOString();
  const chunk = (content: string) =>
    request.kind === 'chat'
      ? { model: request.modelName, created_at: createdAt(), message: { role: 'assistant', content }, done: false }
      : { model: request.modelName, created_at: createdAt(), response: content, done: false };

  if (request.stream) {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
  }

  const started = Date.now();
  let emitted = 0;
  while (emitted < evalCount) {
    const elapsedSim = (Date.now() - started) * engine.clock.speed;
    const due = Math.min(evalCount, Math.floor(elapsedSim / tokenSimMs) + 1);
    while (emitted < due) {
      if (request.stream) res.write(JSON.stringify(chunk(pieces[emitted])) + '\n');
      emitted++;
      engine.stats.tokensGenerated++;
      if (emitted - 1 === dieAfter) {
        engine.stats.diedMidStream++;
        res.socket?.destroy();
        return false;
      }
    }
    if (emitted < evalCount) {
      const nextDueReal = started + engine.realMs(emitted * tokenSimMs);
      await sleep(Math.max(1, nextDueReal - Date.now()), signal);
    }
  }

  const evalSimMs = evalCount * tokenSimMs;
  const final = {
    ...chunk(''),
    done: true,
    done_reason: doneReason,
    ...(request.kind === 'generate' ? { context: [1, 2, 3] } : {}),
    total_duration: msToNs(request.loadSimMs + promptSimMs + evalSimMs),
    load_duration: msToNs(request.loadSimMs),
    prompt_eval_count: promptTokens,
    prompt_eval_duration: msToNs(promptSimMs),
    eval_count: evalCount,
    eval_duration: msToNs(evalSimMs),
  };
  if (request.stream) {
    res.end(JSON.stringify(final) + '\n');
  } else {
    const whole = pieces.join('');
    const body = request.kind === 'chat' ? { ...final, message: { role: 'assistant', content: whole } } : { ...final, response: whole };
    const text = JSON.stringify(body);
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
  engine.stats.servedOn[entry.placement]++;
  return true;
}
