import { randomBytes } from 'node:crypto';

/** Translation of Ollama replies to OpenAI response objects. */

/** The fields of an Ollama `/api/chat` or `/api/generate` line this module reads. */
export type OllamaGenerationLine = {
  model?: string;
  response?: string;
  message?: { role?: string; content?: string; tool_calls?: Array<{ function?: { name?: string; arguments?: unknown } }> };
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: string;
};

export type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number };

/** Returns an id such as `chatcmpl-3f9c...`: the prefix OpenAI uses plus 12 random hex digits. */
export function completionId(prefix: 'chatcmpl' | 'cmpl'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export function unixSeconds(now = Date.now()): number {
  return Math.floor(now / 1000);
}

export function usageOf(line: OllamaGenerationLine): Usage {
  const prompt = line.prompt_eval_count ?? 0;
  const completion = line.eval_count ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Maps Ollama's `done_reason` to OpenAI's `finish_reason`: `length` stays, tool calls win, else `stop`. */
export function finishReasonOf(line: OllamaGenerationLine, hadToolCalls: boolean): 'stop' | 'length' | 'tool_calls' {
  if (hadToolCalls) return 'tool_calls';
  return line.done_reason === 'length' ? 'length' : 'stop';
}

/** Fields every chat or text completion object carries. */
export type CompletionHeader = { id: string; created: number; model: string };

export function toolCallsOf(line: OllamaGenerationLine): Array<Record<string, unknown>> | undefined {
  const calls = line.message?.tool_calls;
  if (!calls || calls.length === 0) return undefined;
  return calls.map((call, index) => ({
    id: `call_${randomBytes(4).toString('hex')}`,
    index,
    type: 'function',
    function: { name: call.function?.name ?? '', arguments: JSON.stringify(call.function?.arguments ?? {}) },
  }));
}

export function chatCompletion(header: CompletionHeader, content: string, final: OllamaGenerationLine) {
  const toolCalls = toolCallsOf(final);
  return {
    ...header,
    object: 'chat.completion',
    system_fingerprint: 'fp_ollama',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
        finish_reason: finishReasonOf(final, toolCalls !== undefined),
      },
    ],
    usage: usageOf(final),
  };
}

export function chatCompletionChunk(
  header: CompletionHeader,
  delta: Record<string, unknown>,
  finishReason: string | null,
) {
  return {
    ...header,
    object: 'chat.completion.chunk',
    system_fingerprint: 'fp_ollama',
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

export function textCompletion(header: CompletionHeader, text: string, final: OllamaGenerationLine) {
  return {
    ...header,
    object: 'text_completion',
    system_fingerprint: 'fp_ollama',
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReasonOf(final, false) }],
    usage: usageOf(final),
  };
}

export function textCompletionChunk(header: CompletionHeader, text: string, finishReason: string | null) {
  return {
    ...header,
    object: 'text_completion',
    system_fingerprint: 'fp_ollama',
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
  };
}

/** The last stream chunk when `stream_options.include_usage` is set: no choices, only usage. */
export function usageChunk(header: CompletionHeader, object: string, usage: Usage) {
  return { ...header, object, system_fingerprint: 'fp_ollama', choices: [], usage };
}

/** Builds the embeddings list; `base64` packs each vector as little-endian float32, as OpenAI does. */
export function embeddingList(
  model: string,
  vectors: number[][],
  promptTokens: number,
  encoding: 'float' | 'base64',
) {
  return {
    object: 'list',
    data: vectors.map((vector, index) => ({
      object: 'embedding',
      embedding: encoding === 'base64' ? base64Floats(vector) : vector,
      index,
    })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

function base64Floats(vector: number[]): string {
  const buffer = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => buffer.writeFloatLE(value, index * 4));
  return buffer.toString('base64');
}

/** An Ollama `/api/tags` entry as an OpenAI model object. */
export function modelObject(entry: { name?: string; model?: string; modified_at?: string }) {
  const modified = entry.modified_at ? Date.parse(entry.modified_at) : Number.NaN;
  return {
    id: entry.name ?? entry.model ?? '',
    object: 'model',
    created: Number.isFinite(modified) ? unixSeconds(modified) : 0,
    owned_by: ownerOf(entry.name ?? entry.model ?? ''),
  };
}

/** Returns the namespace of `owner/name:tag`, or `library` for a name without one (Ollama's default). */
function ownerOf(name: string): string {
  const path = name.split(':')[0].split('/');
  return path.length >= 2 ? path[path.length - 2] : 'library';
}
