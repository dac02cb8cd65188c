import type { ModelSummary } from '../../../../shared/api/system';
import type { Conversation } from '../../../../shared/types';
import { call, stringFlag, type CommandContext, type CommandSpec } from '../context';
import { CliError, usageError } from '../errors';
import { requireWord } from './fleet';
import { formatMs } from '../table';

/** Picks `--model`, or the first model any node serves. */
export async function chooseModel(context: CommandContext): Promise<string> {
  const given = stringFlag(context, 'model');
  if (given !== undefined) {
    if (given.trim() === '') throw usageError("invalid value '' for --model: expected a model name such as llama3.2");
    return given;
  }
  const models = await call<ModelSummary[]>(context, 'models:list');
  if (models.length === 0) {
    throw new CliError('no node serves any model; add a node with "synaptic add URL" or pass --model');
  }
  return models[0].name;
}

export const chatCommand: CommandSpec = {
  name: 'chat',
  usage: 'chat -i "question" [--mode pipeline|parallel] [--model M]',
  summary: 'Ask the agents a question and print their answer',
  details: [
    '-i, --input TEXT    the question (or pass it as the argument)',
    '--mode MODE         pipeline (researcher, critic, editor in turn) or parallel (default pipeline)',
    '--model NAME        model for every agent (default: the first model a node serves)',
    '--conversation ID   continue an earlier conversation',
  ],
  options: {
    input: { type: 'string', short: 'i' },
    mode: { type: 'string' },
    model: { type: 'string' },
    conversation: { type: 'string' },
  },
  minArgs: 0,
  maxArgs: 1,
  async run(context) {
    const question = stringFlag(context, 'input') ?? context.positionals[0];
    if (question === undefined || question.trim() === '') {
      throw usageError('missing question: pass it with -i "question"');
    }
    const mode = requireWord(stringFlag(context, 'mode') ?? 'pipeline', ['pipeline', 'parallel'], '--mode value');
    const model = await chooseModel(context);
    const conversationId = stringFlag(context, 'conversation');

    const result = await call<{ conversationId: string; turnId: string; answer: string | null }>(
      context,
      'chat:send',
      { question, model, mode, ...(conversationId ? { conversationId } : {}) },
    );
    const conversation = await call<Conversation>(context, 'chat:get', { id: result.conversationId });
    const turn = conversation.turns.find((candidate) => candidate.id === result.turnId);
    const steps = turn?.steps ?? [];

    const lines = steps.map((step) => {
      const where = step.nodeName ? ` on ${step.nodeName}` : '';
      const failure = step.error ? `: ${step.error}` : '';
      return `[${step.agent}] ${step.status}${where}, ${formatMs(step.latencyMs)}${failure}`;
    });
    lines.push('', result.answer ?? '(no answer)');
    const failed = turn?.status === 'error' || result.answer === null;
    return {
      json: { ...result, model, mode, status: turn?.status, steps },
      text: lines.join('\n'),
      exitCode: failed ? 1 : 0,
    };
  },
};
