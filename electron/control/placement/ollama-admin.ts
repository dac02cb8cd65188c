import { z } from 'zod';

/** Timeout for a `/api/ps` or `/api/show` call, in milliseconds. */
const queryTimeoutMs = 5000;

const psSchema = z.object({
  models: z
    .array(
      z.looseObject({
        name: z.string(),
        model: z.string().optional(),
        size: z.number().nonnegative(),
        size_vram: z.number().nonnegative(),
        context_length: z.number().optional(),
        expires_at: z.string().optional(),
      }),
    )
    .nullable()
    .transform((models) => models ?? []),
});

export type PsEntry = z.output<typeof psSchema>['models'][number];

const showSchema = z.looseObject({ model_info: z.record(z.string(), z.unknown()).optional() });

async function postJson(url: string, body: unknown, timeoutMs: number): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} returned ${res.status}: ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${url} returned invalid JSON: ${text.slice(0, 200)}`);
  }
}

/** Reads a node's loaded models from `GET /api/ps`. */
export async function fetchPs(baseUrl: string): Promise<PsEntry[]> {
  const res = await fetch(`${baseUrl}/api/ps`, { signal: AbortSignal.timeout(queryTimeoutMs) });
  if (!res.ok) throw new Error(`${baseUrl}/api/ps returned ${res.status}`);
  const parsed = psSchema.safeParse(await res.json());
  if (!parsed.success) throw new Error(`${baseUrl}/api/ps returned an unexpected body: ${parsed.error.message}`);
  return parsed.data.models;
}

/** Reads `<architecture>.block_count` from `POST /api/show` model_info. */
export async function fetchBlockCount(baseUrl: string, model: string): Promise<number> {
  const parsed = showSchema.safeParse(await postJson(`${baseUrl}/api/show`, { model }, queryTimeoutMs));
  const info = parsed.success ? parsed.data.model_info ?? {} : {};
  const arch = info['general.architecture'];
  const direct = typeof arch === 'string' ? info[`${arch}.block_count`] : undefined;
  const found = typeof direct === 'number' ? direct : Object.entries(info).find(([k, v]) => k.endsWith('.block_count') && typeof v === 'number')?.[1];
  if (typeof found !== 'number' || found <= 0) throw new Error(`${baseUrl}/api/show has no block_count for ${model}`);
  return found;
}

/** Unloads a model: `/api/generate` with no prompt and `keep_alive: 0`. */
export async function unloadModel(baseUrl: string, model: string): Promise<void> {
  await postJson(`${baseUrl}/api/generate`, { model, keep_alive: 0 }, queryTimeoutMs);
}

/**
 * Loads a model without generating: `/api/generate` with no prompt. `numGpu` sets how many
 * layers go to the GPU; undefined leaves Ollama's own choice.
 */
export async function loadModel(baseUrl: string, model: string, keepAlive: string | number, numGpu: number | undefined, timeoutMs: number): Promise<void> {
  const body = { model, keep_alive: keepAlive, ...(numGpu !== undefined ? { options: { num_gpu: numGpu } } : {}) };
  await postJson(`${baseUrl}/api/generate`, body, timeoutMs);
}
