import {
  LlamaChat,
  LlamaCompletion,
  type ChatHistoryItem,
  type Llama,
  type LlamaGrammar,
  type Token,
} from 'node-llama-cpp';
import { HttpError } from './http';
import type { Lease } from './scheduler';
import type { ChatMessage, ModelOptions } from './schemas';

/** Ollama's sampling defaults, applied when a request leaves an option out. */
export const OLLAMA_SAMPLING_DEFAULTS = {
  temperature: 0.8,
  top_k: 40,
  top_p: 0.9,
  repeat_penalty: 1.1,
  repeat_last_n: 64,
};

export type GenerationInput =
  | { kind: 'chat'; messages: ChatMessage[] }
  | { kind: 'prompt'; prompt: string; system?: string }
  | { kind: 'raw'; prompt: string };

export type GenerationStats = {
  doneReason: 'stop' | 'length';
  promptEvalCount: number;
  promptEvalDurationNs: number;
  evalCount: number;
  evalDurationNs: number;
  /** Every token in the sequence at the end (prompt and output), for `/api/generate`'s `context`. */
  contextTokens: number[];
};

export type GenerationRequest = {
  lease: Lease;
  input: GenerationInput;
  options: ModelOptions;
  grammar?: LlamaGrammar;
  signal: AbortSignal;
  onText: (text: string) => void;
};

/** Builds the grammar for Ollama's `format`: "json" or a JSON schema object. */
export async function grammarForFormat(
  llama: Llama,
  format: '' | 'json' | Record<string, unknown> | undefined,
): Promise<LlamaGrammar | undefined> {
  if (format === undefined || format === '') return undefined;
  if (format === 'json') return llama.getGrammarFor('json');
  try {
    return await llama.createGrammarForJsonSchema(format as never);
  } catch (error) {
    throw new HttpError(400, `invalid JSON schema in format: ${(error as Error).message}`);
  }
}

/**
 * Runs one generation on a fresh sequence of the leased context, calling `onText` for each piece
 * of output. Throws an AbortError when `signal` fires.
 */
export async function runGeneration(request: GenerationRequest): Promise<GenerationStats> {
  const { lease, input, options } = request;
  const sequence = lease.context.getSequence();
  const started = process.hrtime.bigint();
  let firstTokenAt: bigint | undefined;
  let promptEvalCount = 0;
  let evalCount = 0;

  const onToken = (tokens: Token[]) => {
    if (firstTokenAt === undefined) {
      firstTokenAt = process.hrtime.bigint();
      promptEvalCount = sequence.tokenMeter.usedInputTokens;
    }
    evalCount += tokens.length;
  };

  const common = {
    signal: request.signal,
    stopOnAbortSignal: false,
    maxTokens: maxTokensFor(options.num_predict, lease.contextLength),
    temperature: options.temperature ?? OLLAMA_SAMPLING_DEFAULTS.temperature,
    topK: options.top_k ?? OLLAMA_SAMPLING_DEFAULTS.top_k,
    topP: options.top_p ?? OLLAMA_SAMPLING_DEFAULTS.top_p,
    minP: options.min_p,
    seed: options.seed,
    repeatPenalty: {
      penalty: options.repeat_penalty ?? OLLAMA_SAMPLING_DEFAULTS.repeat_penalty,
      lastTokens: repeatWindow(options.repeat_last_n, lease.contextLength),
      frequencyPenalty: options.frequency_penalty,
      presencePenalty: options.presence_penalty,
    },
    customStopTriggers: stopList(options.stop),
    grammar: request.grammar,
    onTextChunk: request.onText,
    onToken,
  };

  let stopReason: string;
  let contextTokens: number[] = [];
  let finished = started;
  try {
    if (input.kind === 'raw') {
      const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
      try {
        const result = await completion.generateCompletionWithMeta(input.prompt, common);
        stopReason = result.metadata.stopReason;
      } finally {
        completion.dispose({ disposeSequence: false });
      }
    } else {
      const chat = new LlamaChat({ contextSequence: sequence, autoDisposeSequence: false });
      try {
        const result = await chat.generateResponse(toChatHistory(input), common);
        stopReason = result.metadata.stopReason;
      } finally {
        chat.dispose({ disposeSequence: false });
      }
    }
  } finally {
    // Stats are read before the sequence is freed for the next request.
    finished = process.hrtime.bigint();
    contextTokens = sequence.contextTokens.filter((token): token is Token => Number.isInteger(token));
    if (firstTokenAt === undefined) promptEvalCount = sequence.tokenMeter.usedInputTokens;
    await sequence.dispose();
  }

  return {
    doneReason: stopReason === 'maxTokens' ? 'length' : 'stop',
    promptEvalCount,
    promptEvalDurationNs: Number((firstTokenAt ?? finished) - started),
    evalCount,
    evalDurationNs: firstTokenAt === undefined ? 0 : Number(finished - firstTokenAt),
    contextTokens,
  };
}

/**
 * Maps `num_predict` to a token limit: a positive value is used as is, and -1 (Ollama's
 * "no limit"), -2 ("fill the context") or no value all stop at the context length so that a
 * model which never emits end-of-sequence cannot generate forever.
 */
function maxTokensFor(numPredict: number | undefined, contextLength: number): number {
  if (numPredict === undefined || numPredict < 0) return contextLength;
  return numPredict === 0 ? 1 : numPredict;
}

function repeatWindow(lastN: number | undefined, contextLength: number): number {
  if (lastN === undefined) return OLLAMA_SAMPLING_DEFAULTS.repeat_last_n;
  return lastN === -1 ? contextLength : lastN;
}

function stopList(stop: string | string[] | undefined): string[] | undefined {
  if (stop === undefined) return undefined;
  const list = (Array.isArray(stop) ? stop : [stop]).filter((entry) => entry !== '');
  return list.length > 0 ? list : undefined;
}

/**
 * Converts Ollama messages to node-llama-cpp's chat history so the model's own chat template
 * applies. Tool results go in as user turns. A trailing assistant message is continued.
 */
function toChatHistory(input: Exclude<GenerationInput, { kind: 'raw' }>): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  if (input.kind === 'prompt') {
    if (input.system) history.push({ type: 'system', text: input.system });
    history.push({ type: 'user', text: input.prompt });
  } else {
    for (const message of input.messages) {
      if (message.role === 'system') history.push({ type: 'system', text: message.content });
      else if (message.role === 'assistant') history.push({ type: 'model', response: [message.content] });
      else history.push({ type: 'user', text: message.content });
    }
  }
  if (history.at(-1)?.type !== 'model') history.push({ type: 'model', response: [] });
  return history;
}
