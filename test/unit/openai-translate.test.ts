import { describe, expect, it } from 'vitest';
import { errorTypeFor, openAiErrorBody } from '../../electron/control/openai/errors';
import { chatCompletionRequestSchema, parseOpenAiBody, toOllamaChat, toOllamaEmbed, toOllamaGenerate } from '../../electron/control/openai/requests';
import { chatCompletion, embeddingList, finishReasonOf, modelObject } from '../../electron/control/openai/responses';

describe('OpenAI request translation', () => {
  it('maps chat fields to Ollama options', () => {
    const request = parseOpenAiBody(chatCompletionRequestSchema, {
      model: 'm',
      messages: [
        { role: 'developer', content: 'rules' },
        { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,QUJD' } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }] },
      ],
      max_completion_tokens: 7,
      temperature: 0.5,
      top_p: 0.9,
      seed: 3,
      stop: 'END',
      frequency_penalty: 0.1,
      presence_penalty: 0.2,
      response_format: { type: 'json_object' },
    });
    const body = toOllamaChat(request);
    expect(body.stream).toBe(false);
    expect(body.format).toBe('json');
    expect(body.options).toEqual({ num_predict: 7, temperature: 0.5, top_p: 0.9, seed: 3, stop: ['END'], frequency_penalty: 0.1, presence_penalty: 0.2 });
    const messages = body.messages as Array<Record<string, unknown>>;
    expect(messages[0]).toEqual({ role: 'system', content: 'rules' });
    expect(messages[1]).toEqual({ role: 'user', content: 'a', images: ['QUJD'] });
    expect(messages[2].tool_calls).toEqual([{ function: { name: 'f', arguments: { x: 1 } } }]);
  });

  it('passes a JSON schema response_format as format', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const request = parseOpenAiBody(chatCompletionRequestSchema, {
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'n', schema } },
    });
    expect(toOllamaChat(request).format).toEqual(schema);
  });

  it('rejects invalid chat bodies naming the field', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ messages: [{ role: 'user', content: 'x' }] }, /model/],
      [{ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 2 }, /n: only n = 1/],
      [{ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 0 }, /max_tokens/],
      [{ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 'http://x/y.png' }] }] }, /only base64 data URLs/],
      [{ model: 'm', messages: [{ role: 'assistant', tool_calls: [{ function: { name: 'f', arguments: '{' } }] }] }, /arguments/],
    ];
    for (const [body, message] of cases) {
      expect(() => toOllamaChat(parseOpenAiBody(chatCompletionRequestSchema, body))).toThrow(message);
    }
  });

  it('maps completions and embeddings', () => {
    expect(toOllamaGenerate({ model: 'm', prompt: 'p', suffix: 's', max_tokens: 2, stream: true })).toEqual({
      model: 'm',
      prompt: 'p',
      suffix: 's',
      stream: true,
      options: { num_predict: 2 },
    });
    expect(toOllamaEmbed({ model: 'm', input: ['a'], dimensions: 4 })).toEqual({ model: 'm', input: ['a'], dimensions: 4 });
  });
});

describe('OpenAI response translation', () => {
  it('builds a chat completion with usage', () => {
    const body = chatCompletion({ id: 'chatcmpl-1', created: 5, model: 'm' }, 'hi', { done: true, done_reason: 'stop', prompt_eval_count: 3, eval_count: 2 });
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0]).toEqual({ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' });
    expect(body.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
  });

  it('maps done_reason to finish_reason', () => {
    expect(finishReasonOf({ done_reason: 'length' }, false)).toBe('length');
    expect(finishReasonOf({ done_reason: 'stop' }, false)).toBe('stop');
    expect(finishReasonOf({ done_reason: 'stop' }, true)).toBe('tool_calls');
  });

  it('packs base64 embeddings as float32', () => {
    const list = embeddingList('m', [[0.5, -1]], 2, 'base64');
    const bytes = Buffer.from(list.data[0].embedding as string, 'base64');
    expect(bytes.readFloatLE(0)).toBe(0.5);
    expect(bytes.readFloatLE(4)).toBe(-1);
    expect(list.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
  });

  it('names the model owner', () => {
    expect(modelObject({ name: 'llama3:latest', modified_at: '2026-01-01T00:00:00Z' })).toEqual({
      id: 'llama3:latest',
      object: 'model',
      created: 1767225600,
      owned_by: 'library',
    });
    expect(modelObject({ name: 'me/tool:1b' }).owned_by).toBe('me');
  });

  it('types errors by status as Ollama does', () => {
    expect(errorTypeFor(400)).toBe('invalid_request_error');
    expect(errorTypeFor(404)).toBe('not_found_error');
    expect(errorTypeFor(503)).toBe('api_error');
    expect(openAiErrorBody(404, "model 'x' not found")).toEqual({
      error: { message: "model 'x' not found", type: 'not_found_error', param: null, code: null },
    });
  });
});
