import { describe, expect, it } from 'vitest';
import { isLoopbackHost, normalizeNodeUrl } from '../../electron/control/nodes/node-url';

describe('normalizeNodeUrl', () => {
  const accepted: Array<[string, string]> = [
    ['http://127.0.0.1:11434', 'http://127.0.0.1:11434'],
    ['http://127.0.0.1:11434/', 'http://127.0.0.1:11434'],
    ['HTTP://GPU-1.lan:11434', 'http://gpu-1.lan:11434'],
    ['https://ollama.example.com', 'https://ollama.example.com'],
    ['10.0.0.5:11434', 'http://10.0.0.5:11434'],
    ['http://[::1]:11434', 'http://[::1]:11434'],
    ['  http://host:1/base/  ', 'http://host:1/base'],
  ];
  it.each(accepted)('accepts %s as %s', (input, expected) => {
    expect(normalizeNodeUrl(input)).toEqual({ ok: true, url: expected });
  });

  const rejected: Array<[string, string]> = [
    ['', 'empty'],
    ['ftp://host:21', 'scheme must be http or https'],
    ['file:///etc/passwd', 'scheme must be http or https'],
    ['http://', 'not a URL'],
    ['http://user:pw@host:1', 'credentials'],
    ['http://host:1/?a=b', 'query and fragment'],
    ['http://host:99999', 'not a URL'],
  ];
  it.each(rejected)('rejects %j naming the value', (input, reason) => {
    const result = normalizeNodeUrl(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain(reason);
    if (input !== '') expect(result.message).toContain(input);
  });
});

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.4.5.6', 'localhost', '::1', '[::1]'])('treats %s as loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });
  it.each(['0.0.0.0', '10.0.0.1', '192.168.1.2', 'example.com'])('treats %s as remote', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});
