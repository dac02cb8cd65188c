import { z } from 'zod';

/** Ollama request bodies the adapter accepts, validated before anything reaches llama-server. */
const options = z.record(z.string(), z.unknown()).optional();
const format = z.union([z.literal('json'), z.literal(''), z.record(z.string(), z.unknown())]).optional();

export const chatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string().default(''),
  images: z.array(z.string()).optional(),
});

export const chatRequest = z.object({
  model: z.string().min(1, 'model is required'),
  messages: z.array(chatMessage).default([]),
  stream: z.boolean().optional(),
  format,
  options,
  keep_alive: z.union([z.string(), z.number()]).optional(),
});

export const generateRequest = z.object({
  model: z.string().min(1, 'model is required'),
  prompt: z.string().default(''),
  system: z.string().optional(),
  raw: z.boolean().optional(),
  stream: z.boolean().optional(),
  format,
  options,
  keep_alive: z.union([z.string(), z.number()]).optional(),
});

export const embedRequest = z.object({
  model: z.string().min(1, 'model is required'),
  input: z.union([z.string(), z.array(z.string())]).default([]),
  truncate: z.boolean().optional(),
  options,
});

export const showRequest = z.object({
  model: z.string().min(1, 'model is required').optional(),
  name: z.string().min(1).optional(),
});

export type ChatRequest = z.output<typeof chatRequest>;
export type GenerateRequest = z.output<typeof generateRequest>;

/** llama-server's `timings` object (milliseconds and token counts). */
export const llamaTimings = z
  .object({
    prompt_n: z.number().optional(),
    prompt_ms: z.number().optional(),
    predicted_n: z.number().optional(),
    predicted_ms: z.number().optional(),
  })
  .passthrough();

export type LlamaTimings = z.output<typeof llamaTimings>;

export const chatChunk = z
  .object({
    choices: z
      .array(
        z
          .object({
            delta: z.object({ content: z.string().nullish() }).passthrough().optional(),
            message: z.object({ content: z.string().nullish() }).passthrough().optional(),
            finish_reason: z.string().nullish(),
          })
          .passthrough(),
      )
      .default([]),
    timings: llamaTimings.optional(),
    usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).partial().passthrough().nullish(),
  })
  .passthrough();

export const completionChunk = z
  .object({
    content: z.string().default(''),
    stop: z.boolean().optional(),
    stop_type: z.string().optional(),
    timings: llamaTimings.optional(),
    tokens_predicted: z.number().optional(),
    tokens_evaluated: z.number().optional(),
  })
  .passthrough();

/** Ollama sampling options and the llama-server field each maps to. */
const OPTION_FIELDS: Record<string, string> = {
  temperature: 'temperature',
  top_p: 'top_p',
  top_k: 'top_k',
  min_p: 'min_p',
  typical_p: 'typical_p',
  seed: 'seed',
  stop: 'stop',
  repeat_penalty: 'repeat_penalty',
  repeat_last_n: 'repeat_last_n',
  presence_penalty: 'presence_penalty',
  frequency_penalty: 'frequency_penalty',
  mirostat: 'mirostat',
  mirostat_tau: 'mirostat_tau',
  mirostat_eta: 'mirostat_eta',
};

/** Maps Ollama `options` onto llama-server sampling fields; `num_predict` becomes `maxField`. */
export function mapOptions(opts: Record<string, unknown> | undefined, maxField: 'max_tokens' | 'n_predict'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!opts) return out;
  for (const [key, target] of Object.entries(OPTION_FIELDS)) {
    if (opts[key] !== undefined && opts[key] !== null) out[target] = opts[key];
  }
  const numPredict = opts.num_predict;
  if (typeof numPredict === 'number' && numPredict >= 0) out[maxField] = numPredict;
  return out;
}

function mapFormat(f: ChatRequest['format']): Record<string, unknown> {
  if (f === 'json') return { response_format: { type: 'json_object' } };
  if (f && typeof f === 'object') return { response_format: { type: 'json_schema', json_schema: { schema: f } } };
  return {};
}

/** Builds the `/v1/chat/completions` body for an Ollama chat request. */
export function chatToLlama(req: ChatRequest, stream: boolean): Record<string, unknown> {
  return {
    messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
    ...mapOptions(req.options, 'max_tokens'),
    ...mapFormat(req.format),
  };
}

/**
 * Builds the llama-server request for an Ollama generate request. A `raw` prompt goes to
 * `/completion` unchanged. Other prompts go to `/v1/chat/completions` so that llama-server applies
 * the model's chat template, with `system` as a system message.
 */
export function generateToLlama(req: GenerateRequest, stream: boolean): { path: string; body: Record<string, unknown> } {
  if (req.raw) {
    return {
      path: '/completion',
      body: { prompt: req.prompt, stream, ...mapOptions(req.options, 'n_predict'), ...mapFormat(req.format) },
    };
  }
  const messages = [
    ...(req.system ? [{ role: 'system' as const, content: req.system }] : []),
    { role: 'user' as const, content: req.prompt },
  ];
  return { path: '/v1/chat/completions', body: chatToLlama({ ...req, messages }, stream) };
}

export type FinalFigures = {
  doneReason: string;
  promptEvalCount: number;
  promptEvalDurationNs: number;
  evalCount: number;
  evalDurationNs: number;
};

const MS_TO_NS = 1_000_000;

/** Converts llama-server timings (ms) into Ollama's counts and nanosecond durations. */
export function figuresFromTimings(
  timings: LlamaTimings | undefined,
  usage: { prompt_tokens?: number; completion_tokens?: number } | null | undefined,
  finishReason: string | null | undefined,
): FinalFigures {
  return {
    doneReason: mapFinishReason(finishReason),
    promptEvalCount: timings?.prompt_n ?? usage?.prompt_tokens ?? 0,
    promptEvalDurationNs: Math.round((timings?.prompt_ms ?? 0) * MS_TO_NS),
    evalCount: timings?.predicted_n ?? usage?.completion_tokens ?? 0,
    evalDurationNs: Math.round((timings?.predicted_ms ?? 0) * MS_TO_NS),
  };
}

/** llama-server reports `stop`/`length` (OpenAI) or `eos`/`word`/`limit` (`/completion`); Ollama uses `stop`/`length`. */
export function mapFinishReason(reason: string | null | undefined): string {
  if (reason === 'length' || reason === 'limit') return 'length';
  return 'stop';
}

export function finalFields(figures: FinalFigures, totalNs: number, loadNs: number): Record<string, unknown> {
  return {
    done: true,
    done_reason: figures.doneReason,
    total_duration: totalNs,
    load_duration: loadNs,
    prompt_eval_count: figures.promptEvalCount,
    prompt_eval_duration: figures.promptEvalDurationNs,
    eval_count: figures.evalCount,
    eval_duration: figures.evalDurationNs,
  };
}
