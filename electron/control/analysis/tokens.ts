/** Counts tokens in a text; inject a real tokenizer where one is available. */
export type TokenCounter = (text: string) => number;

/** Extra tokens per chat message for the role and the template's separators (an estimate). */
export const perMessageOverheadTokens = 4;

/**
 * Default estimate: one token per four characters, rounded up. English text in llama-family
 * tokenizers averages about four characters per token, so this is an estimate, not a count.
 */
export const estimateTokensByChars: TokenCounter = (text) => (text.length === 0 ? 0 : Math.ceil(text.length / 4));
