import { describe, expect, it } from 'vitest';
import { asksToUnload, parsePriority, parseRoutedBody } from '../../electron/control/gateway/body';
import { splitTarget } from '../../electron/control/gateway/gateway';
import { forwardableHeaders } from '../../electron/control/gateway/headers';
import { LineSplitter } from '../../electron/control/gateway/ndjson';

describe('LineSplitter', () => {
  const lines = ['{"message":{"content":"Hel"},"done":false}\n', '{"message":{"content":"lo"},"done":false}\n', '{"done":true,"eval_count":2}\n'];
  const stream = Buffer.from(lines.join(''));

  it('returns whole lines when chunks split objects in the middle', () => {
    for (let size = 1; size <= 17; size++) {
      const splitter = new LineSplitter();
      const out: string[] = [];
      for (let i = 0; i < stream.length; i += size) {
        out.push(...splitter.push(stream.subarray(i, i + size)).map((b) => b.toString()));
      }
      expect(out, `chunk size ${size}`).toEqual(lines);
      expect(splitter.rest()).toBeNull();
    }
  });

  it('returns several lines from one chunk one by one', () => {
    const out = new LineSplitter().push(stream);
    expect(out.map((b) => b.toString())).toEqual(lines);
  });

  it('keeps a multi-byte character split across chunks intact', () => {
    const text = Buffer.from('{"content":"héllo → 🦙"}\n');
    const splitter = new LineSplitter();
    const first = splitter.push(text.subarray(0, 14));
    const second = splitter.push(text.subarray(14));
    expect(first).toEqual([]);
    expect(second.map((b) => b.toString())).toEqual(['{"content":"héllo → 🦙"}\n']);
  });

  it('hands back bytes after the last newline as the rest', () => {
    const splitter = new LineSplitter();
    splitter.push(Buffer.from('{"a":1}\n{"b":'));
    expect(splitter.rest()?.toString()).toBe('{"b":');
    expect(splitter.rest()).toBeNull();
  });
});

describe('parseRoutedBody', () => {
  const cases: Array<[string, string, boolean, string]> = [
    ['empty body', '', false, 'missing request body'],
    ['broken JSON', '{"model":', false, 'invalid JSON: '],
    ['an array', '[1]', false, 'invalid JSON: request body must be a JSON object'],
    ['no model', '{"messages":[]}', false, 'model is required'],
    ['an empty model', '{"model":""}', false, 'model is required'],
    ['a numeric model', '{"model":3}', false, 'model must be a string, got 3'],
    ['options as a list', '{"model":"m","options":[1]}', false, 'options must be an object, got [1]'],
    ['name on chat', '{"name":"m"}', false, 'model is required'],
  ];
  it.each(cases)('rejects %s', (_name, body, acceptName, message) => {
    const result = parseRoutedBody(Buffer.from(body), acceptName);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message.startsWith(message)).toBe(true);
  });

  it('reads model and options exactly as sent', () => {
    const result = parseRoutedBody(Buffer.from('{"model":"Llama3.2","options":{"num_ctx":4096}}'), false);
    expect(result).toEqual({ ok: true, body: { model: 'Llama3.2', options: { num_ctx: 4096 }, raw: { model: 'Llama3.2', options: { num_ctx: 4096 } } } });
  });

  it('accepts name in place of model for show', () => {
    expect(parseRoutedBody(Buffer.from('{"name":"m"}'), true)).toEqual({ ok: true, body: { model: 'm', raw: { name: 'm' } } });
  });
});

describe('parseRoutedBody model name length', () => {
  it('rejects a name over the limit', () => {
    const outcome = parseRoutedBody(Buffer.from(JSON.stringify({ model: 'x'.repeat(100_000) })), false);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.message.length).toBeLessThan(300);
    if (!outcome.ok) expect(outcome.message).toContain('100000 characters');
  });
});

describe('parsePriority', () => {
  it('treats a missing header as no priority', () => expect(parsePriority(undefined)).toEqual({ ok: true }));
  it('reads an integer from 1 to 10', () => expect(parsePriority('7')).toEqual({ ok: true, value: 7 }));
  it.each(['0', '11', '2.5', 'high', ''])('rejects %j naming the value', (value) => {
    const result = parsePriority(value);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(`'${value}'`);
  });
});

describe('forwardableHeaders', () => {
  it('drops hop-by-hop headers and those named by Connection', () => {
    const out = forwardableHeaders(
      {
        connection: 'keep-alive, x-secret-hop',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'x-secret-hop': '1',
        'content-type': 'application/json',
        'user-agent': 'ollama-js/0.6',
        host: 'gateway',
      },
      ['host'],
    );
    expect(out).toEqual({ 'content-type': 'application/json', 'user-agent': 'ollama-js/0.6' });
  });
});

describe('splitTarget', () => {
  it('splits path and query', () => {
    expect(splitTarget('/api/chat')).toEqual({ path: '/api/chat', search: '' });
    expect(splitTarget('/api/tags/?x=1')).toEqual({ path: '/api/tags', search: '?x=1' });
    expect(splitTarget('/')).toEqual({ path: '/', search: '' });
  });

  it('normalises unusual paths like URL', () => {
    expect(splitTarget('/api/../api/chat').path).toBe('/api/chat');
    expect(splitTarget('/api/%63hat').path).toBe('/api/%63hat');
    expect(splitTarget('http://example.test/api/ps?y=2')).toEqual({ path: '/api/ps', search: '?y=2' });
  });

  it('keeps a double-slash path apart', () => {
    expect(splitTarget('//api/chat').path).not.toBe('/api/chat');
  });
});

describe('asksToUnload', () => {
  it('is true for zero values', () => {
    for (const value of [0, '0', '0s', '0m', '0h', '0ms', ' 0 ', '0.0s']) expect(asksToUnload(value), String(value)).toBe(true);
  });

  it('is false for other or missing values', () => {
    for (const value of [undefined, null, -1, 300, '5m', '-1', '10s', '0.5s', 'never', {}]) expect(asksToUnload(value), String(value)).toBe(false);
  });
});
