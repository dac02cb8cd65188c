import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/** A model that simulated nodes can serve. Sizes are the bytes Ollama reports in `/api/ps`. */
export const simModelSchema = z.object({
  name: z.string().min(1),
  family: z.string().min(1).default('llama'),
  parameterSize: z.string().default('1B'),
  quantizationLevel: z.string().default('Q4_K_M'),
  sizeBytes: z.number().int().positive(),
  /** Transformer blocks (`<family>.block_count` in `/api/show`); full GPU offload is this + 1. */
  blockCount: z.number().int().positive(),
  contextLength: z.number().int().positive().default(4096),
  embeddingLength: z.number().int().positive().default(16),
  /** An embedding model answers `/api/embed` only; chat and generate return 400. */
  embeddingOnly: z.boolean().default(false),
});

const slowEpisodeSchema = z.object({
  /** Chance that a request starts a slow episode when none is running. */
  probability: z.number().min(0).max(1),
  /** Episode length in simulated milliseconds. */
  durationMs: z.number().nonnegative(),
  /** Generation and prompt speed are divided by this during an episode. */
  slowdown: z.number().min(1),
});

const faultSchema = z.object({
  /** Chance that a request's connection is reset before any byte is sent. */
  resetChance: z.number().min(0).max(1).default(0),
  /** Chance that a streamed response's connection dies after a few lines. */
  dieMidStreamChance: z.number().min(0).max(1).default(0),
  /** Chance that a request is answered at once with 503 `server busy`. */
  busyChance: z.number().min(0).max(1).default(0),
  /** Chance that a `/api/pull` stops partway through the model layer with a download error. */
  pullFailChance: z.number().min(0).max(1).default(0),
});

export const simNodeProfileSchema = z.object({
  name: z.string().min(1).regex(/^[a-z0-9][a-z0-9-]*$/, 'name must be lower-case letters, digits and dashes'),
  version: z.string().default('0.12.6'),
  /** GPU memory in bytes; 0 for a CPU-only node. */
  gpuVramBytes: z.number().int().nonnegative(),
  tokensPerSecGpu: z.number().positive(),
  tokensPerSecCpu: z.number().positive(),
  /** Prompt evaluation is this many times faster than generation. */
  promptSpeedup: z.number().positive().default(8),
  /** Time to load a model, in simulated milliseconds. */
  loadMs: z.number().nonnegative(),
  /** Requests generated at the same time (Ollama's OLLAMA_NUM_PARALLEL). */
  parallel: z.number().int().positive(),
  /** Requests that may wait for a slot before 503 (Ollama's OLLAMA_MAX_QUEUE). */
  queueLimit: z.number().int().nonnegative(),
  /** Chance that a load without `num_gpu` lands on CPU although the GPU has room. */
  cpuLoadChance: z.number().min(0).max(1).default(0),
  /** Simulated milliseconds an idle model stays loaded without an explicit keep_alive. */
  keepAliveMs: z.number().nonnegative().default(300_000),
  slowEpisodes: slowEpisodeSchema.optional(),
  faults: faultSchema.default({ resetChance: 0, dieMidStreamChance: 0, busyChance: 0, pullFailChance: 0 }),
  /** Download speed of `/api/pull`, in bytes per simulated second. */
  pullBytesPerSec: z.number().positive().default(100_000_000),
  /** Names of catalog models this node has pulled. */
  models: z.array(z.string().min(1)).min(1),
});

export const fleetProfileSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    seed: z.number().int().default(1),
    models: z.array(simModelSchema).min(1),
    nodes: z.array(simNodeProfileSchema).min(1),
    /** Models the simulated registry serves to `/api/pull` besides `models`; no node starts with them. */
    pullable: z.array(simModelSchema).default([]),
  })
  .superRefine((fleet, ctx) => {
    const known = new Set(fleet.models.map((m) => m.name));
    fleet.nodes.forEach((node, index) => {
      for (const model of node.models) {
        if (!known.has(model)) {
          ctx.addIssue({
            code: 'custom',
            path: ['nodes', index, 'models'],
            message: `node '${node.name}' lists model '${model}', which is not in the fleet's models`,
          });
        }
      }
    });
    const modelNames = [...fleet.models, ...fleet.pullable].map((m) => m.name);
    const repeated = modelNames.find((name, i) => modelNames.indexOf(name) !== i);
    if (repeated) {
      ctx.addIssue({ code: 'custom', path: ['pullable'], message: `model '${repeated}' is listed twice in models and pullable` });
    }
    const names = fleet.nodes.map((n) => n.name);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate) {
      ctx.addIssue({ code: 'custom', path: ['nodes'], message: `node name '${duplicate}' is used twice` });
    }
  });

export type SimModel = z.output<typeof simModelSchema>;
export type SimNodeProfile = z.output<typeof simNodeProfileSchema>;
export type FleetProfile = z.output<typeof fleetProfileSchema>;

/** Validates a fleet profile; throws an Error that lists every invalid field. */
export function parseFleetProfile(raw: unknown, source = 'fleet profile'): FleetProfile {
  const parsed = fleetProfileSchema.safeParse(raw);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid ${source}: ${details.join('; ')}`);
  }
  return parsed.data;
}

/** Reads and validates a fleet profile JSON file. */
export async function loadFleetProfile(path: string): Promise<FleetProfile> {
  const text = await readFile(path, 'utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`invalid JSON in fleet profile ${path}: ${(error as Error).message}`);
  }
  return parseFleetProfile(raw, `fleet profile ${path}`);
}
