import { describe, expect, it } from 'vitest';
import { defaultAgents, mergeAgents, agentsFileSchema } from '../../electron/control/agents/definitions';
import { answerFromOutput, parseAgentOutput } from '../../electron/control/agents/output';
import { findSchemaViolation } from '../../electron/control/agents/schema-check';
import { ProgressEmitter } from '../../electron/control/agents/progress';
import { buildMessages } from '../../electron/control/agents/prompts';
import { describeRefusal } from '../../electron/control/agents/step-runner';
import { EventBus } from '../../electron/control/core/event-bus';
import type { AgentProgress, AgentStep } from '../../shared/types';

const researcherSchema = defaultAgents().researcher.schema;

describe('findSchemaViolation', () => {
  const cases: { name: string; value: unknown; schema: Record<string, unknown>; expected: string | null }[] = [
    { name: 'valid researcher output', value: { facts: ['a'], context: 'b' }, schema: researcherSchema, expected: null },
    { name: 'missing required key', value: { facts: [] }, schema: researcherSchema, expected: '$.context is required' },
    { name: 'wrong item type', value: { facts: [1], context: '' }, schema: researcherSchema, expected: '$.facts[0] should be string, got number' },
    { name: 'array instead of object', value: [], schema: researcherSchema, expected: '$ should be object, got array' },
    { name: 'null instead of object', value: null, schema: researcherSchema, expected: '$ should be object, got null' },
    { name: 'enum mismatch', value: 'c', schema: { enum: ['a', 'b'] }, expected: '$ should be one of ["a","b"]' },
    { name: 'extra key when forbidden', value: { a: 1, b: 2 }, schema: { type: 'object', properties: { a: {} }, additionalProperties: false }, expected: '$.b is not allowed' },
    { name: 'integer rejects fraction', value: 1.5, schema: { type: 'integer' }, expected: '$ should be integer, got number' },
    { name: 'type list accepts null', value: null, schema: { type: ['string', 'null'] }, expected: null },
    { name: 'too few items', value: [], schema: { type: 'array', minItems: 1 }, expected: '$ should have at least 1 items' },
    { name: 'unknown keywords ignored', value: 'x', schema: { pattern: '^y$' }, expected: null },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      expect(findSchemaViolation(testCase.value, testCase.schema)).toBe(testCase.expected);
    });
  }
});

describe('parseAgentOutput', () => {
  it('accepts JSON inside a code fence', () => {
    const parsed = parseAgentOutput('```json\n{"facts": [], "context": "c"}\n```', researcherSchema);
    expect(parsed).toEqual({ ok: true, value: { facts: [], context: 'c' } });
  });

  it('rejects empty reply', () => {
    expect(parseAgentOutput('  \n', researcherSchema)).toEqual({ ok: false, error: 'the reply is empty' });
  });

  it('rejects truncated JSON with the parser message', () => {
    const parsed = parseAgentOutput('{"facts": ["a"', researcherSchema);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(/^the reply is not valid JSON: /);
  });

  it('rejects schema mismatch with the path', () => {
    const parsed = parseAgentOutput('{"facts": "a", "context": ""}', researcherSchema);
    expect(parsed).toEqual({ ok: false, error: 'the reply does not match the schema: $.facts should be array, got string' });
  });
});

describe('answerFromOutput', () => {
  it('uses the answer field', () => {
    expect(answerFromOutput({ answer: 'yes' }, '{"answer":"yes"}')).toBe('yes');
  });

  it('falls back to the raw text', () => {
    expect(answerFromOutput(undefined, 'raw words')).toBe('raw words');
    expect(answerFromOutput({ answer: 3 }, '{"answer":3}')).toBe('{"answer":3}');
  });
});

describe('mergeAgents', () => {
  it('overrides one role and merges options', () => {
    const file = agentsFileSchema.parse({ critic: { name: 'Skeptic', options: { temperature: 0.9 } } });
    const merged = mergeAgents(defaultAgents(), file);
    expect(merged.critic.name).toBe('Skeptic');
    expect(merged.critic.options).toEqual({ temperature: 0.9, num_predict: 512 });
    expect(merged.critic.role).toBe('critic');
    expect(merged.editor).toEqual(defaultAgents().editor);
  });

  it('schema rejects unknown keys and roles', () => {
    expect(agentsFileSchema.safeParse({ critic: { prompt: 'x' } }).success).toBe(false);
    expect(agentsFileSchema.safeParse({ writer: {} }).success).toBe(false);
    expect(agentsFileSchema.safeParse({ critic: { options: { stop: [1] } } }).success).toBe(false);
  });
});

describe('buildMessages', () => {
  const agents = defaultAgents();
  const step = (overrides: Partial<AgentStep>): AgentStep => ({
    id: 's',
    agent: 'researcher',
    status: 'done',
    model: 'm',
    text: '',
    raw: false,
    retried: false,
    ...overrides,
  });

  it('quotes parsed research and failed critique', () => {
    const messages = buildMessages(agents.editor, 'Why?', [], {
      research: step({ output: { facts: ['f1'], context: 'c' } }),
      critique: step({ agent: 'critic', status: 'error', error: 'node died' }),
    });
    expect(messages[0]).toEqual({ role: 'system', content: agents.editor.systemPrompt });
    expect(messages[1].content).toContain('"f1"');
    expect(messages[1].content).toContain('(the critic step failed: node died)');
  });

  it('clips long raw text', () => {
    const messages = buildMessages(agents.critic, 'Why?', [], { research: step({ text: 'y'.repeat(20_000), raw: true }) });
    expect(messages[1].content).toContain('[truncated]');
    expect(messages[1].content.length).toBeLessThan(10_000);
  });
});

describe('ProgressEmitter', () => {
  it('joins deltas inside the interval', () => {
    const bus = new EventBus();
    const seen: AgentProgress[] = [];
    bus.on('agent:progress', (progress) => seen.push(progress));
    let now = 1_000;
    const emitter = new ProgressEmitter(bus, 'c', 't', 100, () => now);
    const step: AgentStep = { id: 's', agent: 'researcher', status: 'running', model: 'm', text: '', raw: false, retried: false };

    step.text += 'a';
    emitter.delta(step, 'a');
    step.text += 'b';
    emitter.delta(step, 'b');
    step.text += 'c';
    emitter.delta(step, 'c');
    now += 150;
    step.status = 'done';
    emitter.flush(step);
    emitter.dispose();

    expect(seen.map((event) => event.delta)).toEqual(['a', 'bc']);
    expect(seen[1].step.status).toBe('done');
    expect(seen[0].step.text).toBe('a');
  });
});

describe('describeRefusal', () => {
  it('keeps a router message naming the model', () => {
    expect(describeRefusal('llama3', "model 'llama3' not found")).toBe("model 'llama3' not found");
  });

  it('prefixes the model otherwise', () => {
    expect(describeRefusal('llama3', 'all nodes are down')).toBe("no node can serve model 'llama3': all nodes are down");
  });
});
