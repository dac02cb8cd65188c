import { describe, expect, it } from 'vitest';
import { findCommandIndex, parseIntegerFlag, parseLine, parsePortList, splitCommandLine } from '../../electron/cli/synaptic/command-line';
import { completeLine } from '../../electron/cli/synaptic/prompt';

describe('splitCommandLine', () => {
  const cases: Array<[string, string[]]> = [
    ['nodes', ['nodes']],
    ['  chat   -i  "why is the sky blue?" ', ['chat', '-i', 'why is the sky blue?']],
    ["chat -i 'it''s'", ['chat', '-i', 'its']],
    ['chat -i "say \\"hi\\""', ['chat', '-i', 'say "hi"']],
    ['add http://a\\ b', ['add', 'http://a b']],
    ['chat -i ""', ['chat', '-i', '']],
  ];
  it.each(cases)('splits %j', (line, args) => {
    expect(splitCommandLine(line)).toEqual(args);
  });

  it('rejects an unterminated quote', () => {
    expect(() => splitCommandLine('chat -i "open')).toThrow('unterminated double quote');
  });
});

describe('command line flags', () => {
  it('finds the command after global flags', () => {
    expect(findCommandIndex(['--api', 'http://x', '--json', 'nodes'])).toBe(3);
    expect(findCommandIndex(['--json'])).toBe(-1);
    expect(findCommandIndex(['--data', 'nodes', 'health'])).toBe(2);
  });

  it('parses global and command flags together', () => {
    const parsed = parseLine(['-i', 'hi', '--json', '--mode', 'parallel'], {
      input: { type: 'string', short: 'i' },
      mode: { type: 'string' },
    });
    expect(parsed.globals.json).toBe(true);
    expect(parsed.values.input).toBe('hi');
    expect(parsed.values.mode).toBe('parallel');
  });

  it('names an unknown flag', () => {
    expect(() => parseLine(['--colour'], {})).toThrow("unknown flag '--colour'");
  });

  it('names a bad number', () => {
    expect(() => parseIntegerFlag('timeout', '5s', 20, 10_000)).toThrow("invalid value '5s' for --timeout");
    expect(parsePortList('ports', '11434, 50052')).toEqual([11434, 50052]);
    expect(() => parsePortList('ports', ',')).toThrow("invalid value ',' for --ports");
  });
});

describe('completeLine', () => {
  const complete = (line: string) => (completeLine as (line: string) => [string[], string])(line);

  it('completes command names', () => {
    expect(complete('di')).toEqual([['discover ', 'distributed '], 'di']);
    expect(complete('he')[0]).toEqual(['health ', 'help ']);
  });

  it('completes subcommands and flags', () => {
    expect(complete('rpc l')).toEqual([['list '], 'l']);
    expect(complete('distributed o')[0]).toEqual(['off ', 'on ']);
    expect(complete('discover 10.0.0.0/24 --po')).toEqual([['--ports '], '--po']);
    expect(complete('help dis')[0]).toEqual(['discover ', 'distributed ']);
  });
});
