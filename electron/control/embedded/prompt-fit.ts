import type { Token } from 'node-llama-cpp';
import type { GenerationInput } from './generation';
import { HttpError } from './http';
import type { ChatMessage } from './schemas';

/**
 * Upper bound on the characters one token covers, used to cut oversized input before tokenizing
 * it. Tokenizing runs synchronously on the event loop (seconds for a prompt of several MB), so
 * input longer than `contextLength * MAX_CHARS_PER_TOKEN` characters is cut or rejected unread.
 * NOTE: 16 is an estimate for BPE and SentencePiece vocabularies, whose tokens average 3 to 5
 * characters of ordinary text. Input made of runs longer than that per token is cut a little early.
 */
export const MAX_CHARS_PER_TOKEN = 16;

/** Tokens kept free for the chat template's own tokens (role markers, BOS) around the input. */
const PROMPT_TEMPLATE_RESERVE = 32;

type Tokenizer = {
  tokenize(text: string): Token[];
  detokenize(tokens: readonly Token[]): string;
};

export type FittedInput = { input: GenerationInput; promptTokens: number };

/**
 * Returns the tokens the input may take: the context length less room for the output
 * (`num_predict` when positive, else a quarter of the context, at most half of it), and at least
 * PROMPT_TEMPLATE_RESERVE.
 */
export function promptBudget(contextLength: number, numPredict: number | undefined): number {
  const output = numPredict !== undefined && numPredict > 0 ? numPredict : Math.floor(contextLength / 4);
  const reserve = Math.max(PROMPT_TEMPLATE_RESERVE, Math.min(output, Math.floor(contextLength / 2)));
  return Math.max(1, contextLength - reserve);
}

/**
 * Makes a prompt fit the context. With `truncate` (Ollama's default) the start of the prompt, or
 * the oldest non-system chat messages, are dropped until the input takes at most
 * `budget` tokens. With `truncate: false` an input that does not fit is rejected with 400 naming
 * its token count and the context length.
 */
export function fitInput(
  tokenizer: Tokenizer,
  input: GenerationInput,
  contextLength: number,
  budget: number,
  truncate: boolean,
): FittedInput {
  if (input.kind === 'chat') return fitChat(tokenizer, input.messages, contextLength, budget, truncate);

  const maxChars = contextLength * MAX_CHARS_PER_TOKEN;
  const system = input.kind === 'prompt' ? (input.system ?? '') : '';
  // A system prompt longer than maxChars is over budget either way, so its end is enough to count.
  const systemTokens = system === '' ? 0 : tokenizer.tokenize(system.slice(-maxChars)).length;
  if (!truncate && input.prompt.length > maxChars) throw tooLongByChars(input.prompt.length, contextLength);

  const prompt = input.prompt.length > maxChars ? input.prompt.slice(-maxChars) : input.prompt;
  let tokens = tokenizer.tokenize(prompt);
  let fittedPrompt = prompt;
  if (systemTokens + tokens.length > budget) {
    if (!truncate) throw tooLongByTokens(systemTokens + tokens.length, contextLength);
    const keep = budget - systemTokens;
    if (keep < 1) throw tooLongByTokens(systemTokens, contextLength, 'the system prompt');
    tokens = tokens.slice(-keep);
    fittedPrompt = tokenizer.detokenize(tokens);
  }
  return { input: { ...input, prompt: fittedPrompt }, promptTokens: systemTokens + tokens.length };
}

function fitChat(
  tokenizer: Tokenizer,
  messages: ChatMessage[],
  contextLength: number,
  budget: number,
  truncate: boolean,
): FittedInput {
  const maxChars = contextLength * MAX_CHARS_PER_TOKEN;
  if (!truncate) {
    const totalChars = messages.reduce((sum, message) => sum + message.content.length, 0);
    if (totalChars > maxChars) throw tooLongByChars(totalChars, contextLength);
    const tokens = messages.reduce((sum, message) => sum + tokenizer.tokenize(message.content).length, 0);
    if (tokens > budget) throw tooLongByTokens(tokens, contextLength);
    return { input: { kind: 'chat', messages }, promptTokens: tokens };
  }

  // System messages are always kept. The others are kept from the newest back while they fit.
  const kept = new Set<number>();
  let used = 0;
  messages.forEach((message, index) => {
    if (message.role !== 'system') return;
    kept.add(index);
    used += tokenizer.tokenize(message.content.slice(-maxChars)).length;
  });
  if (used >= budget) throw tooLongByTokens(used, contextLength, 'the system messages');

  const shortened = new Map<number, string>();
  let charsLeft = maxChars;
  let keptNewest = false;
  for (let index = messages.length - 1; index >= 0; index--) {
    if (messages[index].role === 'system') continue;
    const content = messages[index].content;
    if (keptNewest && content.length > charsLeft) break;
    const text = content.length > charsLeft ? content.slice(-charsLeft) : content;
    let tokens = tokenizer.tokenize(text);
    if (used + tokens.length > budget) {
      if (keptNewest) break;
      // The newest message alone is too long, so only its end is kept, as for a prompt.
      tokens = tokens.slice(-(budget - used));
      shortened.set(index, tokenizer.detokenize(tokens));
    } else if (text !== content) {
      shortened.set(index, text);
    }
    kept.add(index);
    keptNewest = true;
    used += tokens.length;
    charsLeft -= text.length;
  }

  const fitted = messages.flatMap((message, index) => {
    if (!kept.has(index)) return [];
    const content = shortened.get(index);
    return [content === undefined ? message : { ...message, content }];
  });
  return { input: { kind: 'chat', messages: fitted }, promptTokens: used };
}

function tooLongByTokens(tokens: number, contextLength: number, subject = 'the input'): HttpError {
  return new HttpError(
    400,
    `${subject} is ${tokens} tokens, more than fit in the context length of ${contextLength} tokens; ` +
      'shorten it, raise options.num_ctx, or omit "truncate": false to drop the oldest part',
  );
}

function tooLongByChars(chars: number, contextLength: number): HttpError {
  const minTokens = Math.ceil(chars / MAX_CHARS_PER_TOKEN);
  return new HttpError(
    400,
    `the input is ${chars} characters (at least ${minTokens} tokens), more than fit in the context length of ` +
      `${contextLength} tokens; shorten it, raise options.num_ctx, or omit "truncate": false to drop the oldest part`,
  );
}
