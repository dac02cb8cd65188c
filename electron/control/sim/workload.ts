import type { FleetProfile } from './profile';
import { createSeededRandom } from '../scoring/seeded-random';

/** One benchmark request: an Ollama path and body, with a fixed output length. */
export type WorkItem = {
  index: number;
  path: '/api/chat' | '/api/generate' | '/api/embed';
  model: string;
  body: Record<string, unknown>;
  priority: number;
  /** Tokens the request generates (its `num_predict`); 0 for embeddings. */
  outputTokens: number;
  promptChars: number;
};

/**
 * Builds a reproducible mixed workload: 60% short chats, 20% long generations and 10% code
 * requests on their models, and 10% embeddings. Output lengths are fixed with `num_predict` so
 * every strategy does the same work.
 */
export function buildWorkload(count: number, seed: number, models: { chat: string; code: string; embed: string }): WorkItem[] {
  const random = createSeededRandom(seed);
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const items: WorkItem[] = [];
  for (let index = 0; index < count; index++) {
    const roll = random();
    const priority = between(1, 10);
    if (roll < 0.6) {
      const outputTokens = between(16, 64);
      const content = `Question ${index}: ` + 'tell me something useful. '.repeat(between(1, 12));
      items.push({ index, path: '/api/chat', model: models.chat, priority, outputTokens, promptChars: content.length, body: { model: models.chat, messages: [{ role: 'user', content }], options: { num_predict: outputTokens } } });
    } else if (roll < 0.8) {
      const outputTokens = between(128, 256);
      const prompt = `Write a long story number ${index}. ` + 'It has many details. '.repeat(between(4, 30));
      items.push({ index, path: '/api/generate', model: models.chat, priority, outputTokens, promptChars: prompt.length, body: { model: models.chat, prompt, options: { num_predict: outputTokens } } });
    } else if (roll < 0.9) {
      const outputTokens = between(64, 160);
      const content = `Refactor this function ${index}:\n\`\`\`ts\n` + 'const x = compute(a, b);\n'.repeat(between(4, 20)) + '```';
      items.push({ index, path: '/api/chat', model: models.code, priority, outputTokens, promptChars: content.length, body: { model: models.code, messages: [{ role: 'user', content }], options: { num_predict: outputTokens } } });
    } else {
      const input = Array.from({ length: between(1, 8) }, (_, i) => `document ${index}.${i}`);
      items.push({ index, path: '/api/embed', model: models.embed, priority, outputTokens: 0, promptChars: input.join('').length, body: { model: models.embed, input } });
    }
  }
  return items;
}

/**
 * Computes a lower bound on the makespan in simulated milliseconds, assuming every model is already on
 * GPU wherever it fits, no slow episodes and perfect packing. It takes the largest of three
 * bounds. The first is the longest single request at its best node. The second is the sum of
 * best-case times divided by the client concurrency. The third is the generated tokens divided
 * by the fleet's total token rate (slots x GPU tokens/s on GPU nodes, CPU tokens/s otherwise).
 * Prompt time uses the profile's prompt speed-up.
 */
export function oracleMakespanMs(items: WorkItem[], profile: FleetProfile, concurrency: number): number {
  const best = items.map((item) => {
    const times = profile.nodes
      .filter((n) => n.models.includes(item.model))
      .map((n) => {
        const tps = n.gpuVramBytes > 0 ? n.tokensPerSecGpu : n.tokensPerSecCpu;
        const promptTokens = Math.ceil(item.promptChars / 4);
        return ((promptTokens / (tps * n.promptSpeedup) + item.outputTokens / tps) * 1000);
      });
    return times.length > 0 ? Math.min(...times) : 0;
  });
  const longest = Math.max(...best);
  const byConcurrency = best.reduce((s, v) => s + v, 0) / concurrency;
  const fleetRate = profile.nodes.reduce((s, n) => s + n.parallel * (n.gpuVramBytes > 0 ? n.tokensPerSecGpu : n.tokensPerSecCpu), 0);
  const byThroughput = (items.reduce((s, i) => s + i.outputTokens, 0) / fleetRate) * 1000;
  return Math.max(longest, byConcurrency, byThroughput);
}
