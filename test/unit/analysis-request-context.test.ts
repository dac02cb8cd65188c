import { describe, expect, it } from 'vitest';
import { analyzeRequest, type RequestContext } from '../../electron/control/analysis/request-context';

type Case = {
  name: string;
  path: string;
  body: unknown;
  headers?: Record<string, string>;
  priority?: number;
  expect: Partial<RequestContext>;
};

const chat = (content: string, system?: string) => ({
  model: 'llama3.2',
  messages: [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content }],
});

const cases: Case[] = [
  { name: 'a plain chat question is chat with low complexity', path: '/api/chat', body: chat('hello, how are you?'), expect: { endpoint: 'chat', taskType: 'chat', complexity: 'low', priority: 5, stream: true } },
  { name: 'a code fence makes the task code', path: '/api/chat', body: chat('fix this:\n```js\nlet x = 1\n```'), expect: { taskType: 'code' } },
  { name: 'a summarise instruction in the system prompt wins', path: '/api/chat', body: chat('some long article', 'Summarize the text.'), expect: { taskType: 'summarisation' } },
  { name: 'extract keyword makes extraction', path: '/api/generate', body: { model: 'm', prompt: 'Extract the dates from this letter' }, expect: { endpoint: 'generate', taskType: 'extraction' } },
  { name: 'a json format without keywords makes extraction', path: '/api/generate', body: { model: 'm', prompt: 'tell me about Paris', format: 'json' }, expect: { taskType: 'extraction' } },
  { name: 'sentiment asks for classification', path: '/api/generate', body: { model: 'm', prompt: 'What is the sentiment of: great product' }, expect: { taskType: 'classification' } },
  { name: 'compare asks for analysis', path: '/api/chat', body: chat('Compare the two office leases and their costs'), expect: { taskType: 'analysis' } },
  { name: 'plain generate is generation', path: '/api/generate', body: { model: 'm', prompt: 'Once upon a time' }, expect: { taskType: 'generation', stream: true } },
  { name: 'embed is embedding and never prefers a GPU', path: '/api/embed', body: { model: 'e', input: ['a', 'b'] }, expect: { endpoint: 'embed', taskType: 'embedding', prefersGpu: false } },
  { name: 'legacy embeddings keeps its own endpoint', path: '/api/embeddings', body: { model: 'e', prompt: 'a' }, expect: { endpoint: 'embeddings', taskType: 'embedding' } },
  { name: 'OpenAI chat completions defaults to no stream', path: '/v1/chat/completions', body: chat('hi'), expect: { endpoint: 'chat', openAi: true, stream: false } },
  { name: 'OpenAI content parts are counted', path: '/v1/chat/completions', body: { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'abcdefgh' }] }] }, expect: { promptTokens: 2 + 4 } },
  { name: 'chat tokens are chars over four plus four per message', path: '/api/chat', body: chat('a'.repeat(40), 'b'.repeat(8)), expect: { promptTokens: 10 + 2 + 8 } },
  { name: 'a long prompt is high complexity and prefers a GPU', path: '/api/generate', body: { model: 'm', prompt: 'x'.repeat(9000) }, expect: { complexity: 'high', prefersGpu: true } },
  { name: 'a large num_predict is high complexity', path: '/api/generate', body: { model: 'm', prompt: 'hi', options: { num_predict: 2000 } }, expect: { complexity: 'high', maxOutputTokens: 2000 } },
  { name: 'stream false is honoured', path: '/api/chat', body: { ...chat('hi'), stream: false }, expect: { stream: false } },
  { name: 'a valid priority header is used', path: '/api/chat', body: chat('hi'), headers: { 'X-Synaptic-Priority': '9' }, expect: { priority: 9, prefersGpu: true } },
  { name: 'an out-of-range header falls back to 5 with a note', path: '/api/chat', body: chat('hi'), headers: { 'x-synaptic-priority': '11' }, expect: { priority: 5, priorityNote: "invalid X-Synaptic-Priority '11': expected an integer from 1 to 10, using 5" } },
  { name: 'a non-numeric header falls back to 5', path: '/api/chat', body: chat('hi'), headers: { 'x-synaptic-priority': 'urgent' }, expect: { priority: 5 } },
  { name: 'a fractional header falls back to 5', path: '/api/chat', body: chat('hi'), headers: { 'x-synaptic-priority': '2.5' }, expect: { priority: 5 } },
  { name: 'a caller priority is used without a header', path: '/api/chat', body: chat('hi'), priority: 2, expect: { priority: 2 } },
  { name: 'the header wins over the caller priority', path: '/api/chat', body: chat('hi'), priority: 2, headers: { 'x-synaptic-priority': '7' }, expect: { priority: 7 } },
];

describe('analyzeRequest', () => {
  for (const testCase of cases) {
    it(testCase.name, () => {
      const result = analyzeRequest({ path: testCase.path, body: testCase.body, headers: testCase.headers, priority: testCase.priority });
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.context).toMatchObject(testCase.expect);
    });
  }

  it('rejects an unknown path naming it', () => {
    expect(analyzeRequest({ path: '/api/pull', body: { model: 'm' } })).toEqual({ ok: false, error: "unsupported endpoint '/api/pull'" });
  });

  it('rejects a body without a model', () => {
    expect(analyzeRequest({ path: '/api/chat', body: { messages: [] } })).toEqual({ ok: false, error: 'model is required' });
  });

  it('rejects a body that is not an object', () => {
    expect(analyzeRequest({ path: '/api/chat', body: [1, 2] })).toEqual({ ok: false, error: 'request body must be a JSON object' });
    expect(analyzeRequest({ path: '/api/chat', body: null }).ok).toBe(false);
  });

  it('uses an injected tokenizer', () => {
    const result = analyzeRequest({ path: '/api/generate', body: { model: 'm', prompt: 'one two three' } }, (t) => t.split(' ').filter(Boolean).length);
    expect(result.ok && result.context.promptTokens).toBe(3);
  });

  it('survives hostile message shapes', () => {
    const result = analyzeRequest({ path: '/api/chat', body: { model: 'm', messages: [null, 5, { role: 'user', content: { x: 1 } }] } });
    expect(result.ok).toBe(true);
  });
});
