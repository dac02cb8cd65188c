import { describe, expect, it } from 'vitest';
import { parseCidr, rangeContains } from '../../electron/control/discovery/cidr';
import { parseOllamaHost } from '../../electron/control/discovery/ollama-host';

describe('parseCidr', () => {
  const accepted: Array<[string, string, string, string, number]> = [
    ['192.168.1.0/24', '192.168.1.0/24', '192.168.1.1', '192.168.1.254', 254],
    ['192.168.1.77/24', '192.168.1.0/24', '192.168.1.1', '192.168.1.254', 254],
    ['10.0.0.0/22', '10.0.0.0/22', '10.0.0.1', '10.0.3.254', 1022],
    ['127.0.0.5', '127.0.0.5/32', '127.0.0.5', '127.0.0.5', 1],
    ['127.0.0.4/31', '127.0.0.4/31', '127.0.0.4', '127.0.0.5', 2],
    [' 127.0.0.0/27 ', '127.0.0.0/27', '127.0.0.1', '127.0.0.30', 30],
  ];
  it.each(accepted)('accepts %s', (input, cidr, first, last, size) => {
    const parsed = parseCidr(input);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.range.cidr).toBe(cidr);
    expect(parsed.range.size).toBe(size);
    expect(rangeContains(parsed.range, first)).toBe(true);
    expect(rangeContains(parsed.range, last)).toBe(true);
  });

  it('rejects a /21 and says to split it', () => {
    const parsed = parseCidr('10.1.0.0/21');
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message).toContain('2048 addresses');
    expect(parsed.message).toContain('/22 or smaller');
    expect(parsed.message).toContain('10.1.0.0/22');
  });

  const rejected: Array<[string, string]> = [
    ['', 'not an IPv4 address'],
    ['300.1.1.1/24', "'300.1.1.1' is not an IPv4 address"],
    ['1.2.3/24', "'1.2.3' is not an IPv4 address"],
    ['01.2.3.4/24', "'01.2.3.4' is not an IPv4 address"],
    ['fe80::1/64', 'IPv6 is not scanned'],
    ['10.0.0.0/33', "prefix '/33' must be 0-32"],
    ['10.0.0.0/abc', "prefix '/abc' must be 0-32"],
    ['10.0.0.0/24/1', 'expected a.b.c.d/n'],
    ['0.0.0.0/0', 'more than the 1024'],
  ];
  it.each(rejected)('rejects %j', (input, message) => {
    const parsed = parseCidr(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(message);
  });

  it('leaves out addresses outside the range', () => {
    const parsed = parseCidr('127.0.0.0/27');
    if (!parsed.ok) throw new Error(parsed.message);
    expect(rangeContains(parsed.range, '127.0.0.0')).toBe(false);
    expect(rangeContains(parsed.range, '127.0.0.31')).toBe(false);
    expect(rangeContains(parsed.range, '127.0.0.32')).toBe(false);
  });
});

describe('parseOllamaHost', () => {
  const cases: Array<[string, string]> = [
    ['0.0.0.0', 'http://127.0.0.1:11434'],
    ['127.0.0.1:11435', 'http://127.0.0.1:11435'],
    [':9000', 'http://127.0.0.1:9000'],
    ['gpu-box', 'http://gpu-box:11434'],
    ['http://gpu-box', 'http://gpu-box:80'],
    ['https://gpu-box/ollama', 'https://gpu-box:443'],
    ['http://10.0.0.8:11434/', 'http://10.0.0.8:11434'],
    ['[::1]:11434', 'http://[::1]:11434'],
    ['  localhost:1234  ', 'http://localhost:1234'],
  ];
  it.each(cases)('reads %j', (raw, url) => {
    const parsed = parseOllamaHost(raw);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.target.url).toBe(url);
  });

  it('rejects a bad port and a bad scheme', () => {
    const port = parseOllamaHost('127.0.0.1:99999');
    expect(port.ok).toBe(false);
    if (!port.ok) expect(port.message).toContain("invalid port '99999'");
    const scheme = parseOllamaHost('ftp://host');
    expect(scheme.ok).toBe(false);
    if (!scheme.ok) expect(scheme.message).toContain("scheme 'ftp'");
  });
});
