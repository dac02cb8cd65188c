import { findSchemaViolation } from './schema-check';

export type ParsedOutput = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * Parses a model's reply as JSON and checks it against the agent's schema. A reply wrapped in a
 * Markdown code fence is accepted, because models add one even when instructed not to.
 */
export function parseAgentOutput(text: string, schema: Record<string, unknown>): ParsedOutput {
  const body = stripCodeFence(text.trim());
  if (body.length === 0) return { ok: false, error: 'the reply is empty' };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { ok: false, error: `the reply is not valid JSON: ${(error as Error).message}` };
  }
  const violation = findSchemaViolation(value, schema);
  if (violation) return { ok: false, error: `the reply does not match the schema: ${violation}` };
  return { ok: true, value };
}

function stripCodeFence(text: string): string {
  const match = /^```[a-zA-Z]*\s*\n([\s\S]*?)\n?```$/.exec(text);
  return match ? match[1].trim() : text;
}

/** The text the user should read from the editor's step: its `answer` field, else the raw text. */
export function answerFromOutput(output: unknown, text: string): string {
  if (typeof output === 'object' && output !== null && 'answer' in output) {
    const answer = (output as { answer: unknown }).answer;
    if (typeof answer === 'string') return answer;
  }
  return text;
}
