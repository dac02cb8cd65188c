import { describe, expect, it } from 'vitest';
import {
  chatToLlama,
  figuresFromTimings,
  finalFields,
  generateToLlama,
  mapFinishReason,
  mapOptions,
} from '../../electron/control/llamacpp/adapter/wire';
import { parseListDevices } from '../../electron/control/llamacpp/devices';

describe('mapOptions', () => {
  it('maps sampling options and num_predict', () => {
    expect(mapOptions({ temperature: 0, top_k: 5, num_predict: 12, num_ctx: 4096 }, 'max_tokens')).toEqual({
      temperature: 0,
      top_k: 5,
      max_tokens: 12,
    });
  });
  it('drops an unlimited num_predict', () => expect(mapOptions({ num_predict: -1 }, 'n_predict')).toEqual({}));
});

describe('request translation', () => {
  it('sends chat to the chat completions body with usage', () => {
    const body = chatToLlama({ model: 'm', messages: [{ role: 'user', content: 'hi' }], format: 'json' }, true);
    expect(body.messages).toEqual([{ role: 'user', content: 'hi' }]);
    expect(body.stream_options).toEqual({ include_usage: true });
    expect(body.response_format).toEqual({ type: 'json_object' });
  });
  it('sends raw generate to /completion', () => {
    expect(generateToLlama({ model: 'm', prompt: 'abc', raw: true }, false).path).toBe('/completion');
  });
  it('sends templated generate through chat with the system message first', () => {
    const target = generateToLlama({ model: 'm', prompt: 'q', system: 's' }, true);
    expect(target.path).toBe('/v1/chat/completions');
    expect(target.body.messages).toEqual([
      { role: 'system', content: 's' },
      { role: 'user', content: 'q' },
    ]);
  });
});

describe('final figures', () => {
  it('converts milliseconds to nanoseconds', () => {
    const f = figuresFromTimings({ prompt_n: 5, prompt_ms: 1.5, predicted_n: 7, predicted_ms: 20 }, null, 'length');
    expect(f).toEqual({ doneReason: 'length', promptEvalCount: 5, promptEvalDurationNs: 1_500_000, evalCount: 7, evalDurationNs: 20_000_000 });
  });
  it('falls back to usage counts', () => {
    const f = figuresFromTimings(undefined, { prompt_tokens: 3, completion_tokens: 4 }, 'stop');
    expect(f.promptEvalCount).toBe(3);
    expect(f.evalCount).toBe(4);
  });
  it('maps completion stop types', () => {
    expect(mapFinishReason('limit')).toBe('length');
    expect(mapFinishReason('eos')).toBe('stop');
    expect(mapFinishReason(undefined)).toBe('stop');
  });
  it('builds the done fields', () => {
    const fields = finalFields({ doneReason: 'stop', promptEvalCount: 1, promptEvalDurationNs: 2, evalCount: 3, evalDurationNs: 4 }, 10, 5);
    expect(fields).toMatchObject({ done: true, done_reason: 'stop', total_duration: 10, load_duration: 5, eval_count: 3 });
  });
});

describe('parseListDevices', () => {
  it('reads RPC devices with memory', () => {
    const text = 'Available devices:\n  RPC0: 127.0.0.1:50052 (15990 MiB, 12000 MiB free)\n  RPC1: 127.0.0.1:50053 (100 MiB, 99 MiB free)\n';
    expect(parseListDevices(text)).toEqual([
      { name: 'RPC0', description: '127.0.0.1:50052', totalMiB: 15990, freeMiB: 12000 },
      { name: 'RPC1', description: '127.0.0.1:50053', totalMiB: 100, freeMiB: 99 },
    ]);
  });
  it('returns nothing for (none)', () => expect(parseListDevices('Available devices:\n  (none)\n')).toEqual([]));
});
