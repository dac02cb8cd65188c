import type { Message } from 'ollama';
import type { AgentStep, ConversationTurn } from '../../../shared/types';
import type { AgentDefinition } from './definitions';

/** Maximum length, in characters, of an earlier step's text quoted into a later prompt. */
const maxQuotedChars = 8_000;
/** Earlier finished turns of the conversation replayed as chat history. */
const maxHistoryTurns = 4;

/** Material that later agents read: earlier steps of the same turn. */
export type StepInputs = { research?: AgentStep; critique?: AgentStep };

/** Builds the chat messages for one agent of one turn. */
export function buildMessages(
  agent: AgentDefinition,
  question: string,
  history: ConversationTurn[],
  inputs: StepInputs,
): Message[] {
  const sections = [`Question:\n${question}`];
  if (inputs.research) sections.push(`Research notes:\n${quoteStep(inputs.research)}`);
  if (inputs.critique) sections.push(`Critique:\n${quoteStep(inputs.critique)}`);
  sections.push(`Reply with one JSON object matching this schema:\n${JSON.stringify(agent.schema)}`);
  return [
    { role: 'system', content: agent.systemPrompt },
    ...historyMessages(history),
    { role: 'user', content: sections.join('\n\n') },
  ];
}

/** Appends the rejected reply and the reason, asking once more for schema-valid JSON. */
export function buildJsonRetryMessages(messages: Message[], reply: string, error: string): Message[] {
  return [
    ...messages,
    { role: 'assistant', content: clip(reply) },
    {
      role: 'user',
      content:
        `Your previous reply was rejected because ${error}. ` +
        'Reply again with only one JSON object that matches the schema, with no other text.',
    },
  ];
}

function historyMessages(history: ConversationTurn[]): Message[] {
  const finished = history.filter((turn) => turn.status === 'done' && turn.answer !== undefined);
  return finished.slice(-maxHistoryTurns).flatMap((turn): Message[] => [
    { role: 'user', content: turn.question },
    { role: 'assistant', content: clip(turn.answer ?? '') },
  ]);
}

function quoteStep(step: AgentStep): string {
  if (step.status === 'error') return `(the ${step.agent} step failed: ${step.error ?? 'unknown error'})`;
  if (step.output !== undefined) return clip(JSON.stringify(step.output, null, 2));
  if (step.text.trim().length === 0) return `(the ${step.agent} step returned nothing)`;
  return clip(step.text);
}

function clip(text: string): string {
  return text.length <= maxQuotedChars ? text : `${text.slice(0, maxQuotedChars)}\n[truncated]`;
}
