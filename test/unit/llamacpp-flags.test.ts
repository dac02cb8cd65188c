import { describe, expect, it } from 'vitest';
import { nextRestartDelay } from '../../electron/control/llamacpp/backoff';
import {
  buildLlamaServerArgs,
  buildRpcServerArgs,
  isLoopbackHost,
  parseEndpoint,
  tensorSplitFromFreeMemory,
} from '../../electron/control/llamacpp/flags';
import { parseVersionOutput } from '../../electron/control/llamacpp/binaries';

describe('buildLlamaServerArgs', () => {
  it('binds loopback and offloads all layers by default', () => {
    const args = buildLlamaServerArgs({ modelPath: '/m.gguf', port: 4321, rpc: [] });
    expect(args).toEqual(['--host', '127.0.0.1', '--port', '4321', '-m', '/m.gguf', '-ngl', 'all', '-lv', '4']);
  });

  it('passes rpc endpoints, split, context and no-webui', () => {
    const args = buildLlamaServerArgs({
      modelPath: '/m.gguf',
      port: 1,
      rpc: ['127.0.0.1:5000', '127.0.0.1:5001'],
      tensorSplit: [0.25, 0.75],
      ctx: 2048,
      parallel: 2,
      noWebui: true,
    });
    expect(args.join(' ')).toContain('--rpc 127.0.0.1:5000,127.0.0.1:5001');
    expect(args.join(' ')).toContain('--tensor-split 0.25,0.75');
    expect(args.join(' ')).toContain('-c 2048');
    expect(args.join(' ')).toContain('--parallel 2');
    expect(args).toContain('--no-webui');
  });
});

describe('buildRpcServerArgs', () => {
  it('defaults to loopback', () => {
    expect(buildRpcServerArgs({ port: 50052 })).toEqual(['--host', '127.0.0.1', '--port', '50052']);
  });

  it('adds threads, devices, memory and cache', () => {
    const args = buildRpcServerArgs({ host: '0.0.0.0', port: 1, threads: 2, device: ['CPU'], memMiB: 512, cache: true });
    expect(args).toEqual(['--host', '0.0.0.0', '--port', '1', '--threads', '2', '--device', 'CPU', '--mem', '512', '--cache']);
  });
});

describe('tensorSplitFromFreeMemory', () => {
  const cases: Array<[string, Array<number | undefined>, number[] | undefined]> = [
    ['splits in proportion to free memory', [1000, 3000], [0.25, 0.75]],
    ['gives equal shares for equal memory', [2048, 2048], [0.5, 0.5]],
    ['leaves the split to llama-server when a figure is missing', [1000, undefined], undefined],
    ['leaves the split to llama-server when all memory is zero', [0, 0], undefined],
    ['returns nothing for no backends', [], undefined],
  ];
  for (const [name, free, expected] of cases) {
    it(name, () => expect(tensorSplitFromFreeMemory(free)).toEqual(expected));
  }
});

describe('endpoint helpers', () => {
  it('parses host:port', () => expect(parseEndpoint('127.0.0.1:50052')).toEqual({ host: '127.0.0.1', port: 50052 }));
  it('parses bracketed IPv6', () => expect(parseEndpoint('[::1]:9')).toEqual({ host: '[::1]', port: 9 }));
  it('rejects a missing port with the value', () => expect(parseEndpoint('localhost')).toEqual({ error: "invalid RPC endpoint 'localhost': expected host:port" }));
  it('rejects port 0', () => expect('error' in parseEndpoint('a:0')).toBe(true));
  it('treats 127.x and localhost as loopback', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('192.168.1.5')).toBe(false);
  });
});

describe('nextRestartDelay', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1000, maxRestarts: 3, windowMs: 60_000 };
  it('starts at the base delay', () => expect(nextRestartDelay([], 0, policy)).toBe(100));
  it('doubles per recent restart', () => expect(nextRestartDelay([1, 2], 10, policy)).toBe(400));
  it('caps the delay', () => expect(nextRestartDelay([1, 2], 10, { ...policy, maxDelayMs: 300 })).toBe(300));
  it('stops after the cap within the window', () => expect(nextRestartDelay([1, 2, 3], 10, policy)).toBeNull());
  it('forgets restarts outside the window', () => expect(nextRestartDelay([1, 2, 3], 70_000, policy)).toBe(100));
});

describe('parseVersionOutput', () => {
  it('reads version, build and commit', () => {
    expect(parseVersionOutput('version: 0.4.0-dev (build 1, commit 80fb11a)\nbuilt with GNU 12.2.0')).toBe('0.4.0-dev (build 1, commit 80fb11a)');
  });
  it('returns null without a version line', () => expect(parseVersionOutput('usage: ...')).toBeNull());
});
