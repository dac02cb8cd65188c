import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalDevice, parseLayerMap, parseModelFacts, withDerivedLayerRanges } from '../../electron/control/llamacpp/layer-map';

// Captured from llama-server 0.4.0-dev (build 1, commit 80fb11a) loading tiny-llama-8L.gguf with
// `--rpc 127.0.0.1:47101,127.0.0.1:47102 -ngl all --tensor-split 0.5,0.5 -c 2048`.
const fixture = (name: string) =>
  readFileSync(resolve(__dirname, '../fixtures', name), 'utf8').split('\n');

const A = 'RPC[127.0.0.1:47101]';
const B = 'RPC[127.0.0.1:47102]';

describe('parseLayerMap at verbosity 4', () => {
  const map = parseLayerMap(fixture('llama-server-rpc-load-lv4.log'));
  const device = (name: string) => map.devices.find((d) => d.device === name)!;

  it('reads the offloaded layer count', () => {
    expect(map.offloadedLayers).toBe(9);
    expect(map.totalLayers).toBe(9);
  });

  it('reads model buffers per device', () => {
    expect(device('CPU').modelMiB).toBe(3.91);
    expect(device(A).modelMiB).toBe(0.51);
    expect(device(B).modelMiB).toBe(4.21);
  });

  it('reads KV cache and compute buffers', () => {
    expect(device(A).kvMiB).toBe(2.5);
    expect(device(B).kvMiB).toBe(1.5);
    expect(device(A).computeMiB).toBe(10.04);
    expect(device('CPU').computeMiB).toBe(8.3);
  });

  it('counts only non-CPU buffers as offloaded bytes', () => {
    const mib = 0.51 + 4.21 + 2.5 + 1.5 + 10.04 + 10.04;
    expect(map.offloadedBytes).toBe(Math.round(mib * 1024 * 1024));
  });

  it('has no layer ranges without debug lines', () => {
    expect(device(A).layerRanges).toEqual([]);
  });
});

describe('parseLayerMap at verbosity 5', () => {
  const map = parseLayerMap(fixture('llama-server-rpc-load-lv5.log'));
  const device = (name: string) => map.devices.find((d) => d.device === name)!;

  it('keeps only the last of two load passes', () => {
    expect(device(A).modelMiB).toBe(0.51);
    expect(device(B).kvMiB).toBe(1.5);
  });

  it('maps layer indices to RPC devices as ranges', () => {
    expect(device(A).layerRanges).toEqual([[0, 4]]);
    expect(device(B).layerRanges).toEqual([[5, 8]]);
  });
});

describe('parseModelFacts', () => {
  it('reads architecture, file type, size and context', () => {
    const facts = parseModelFacts(fixture('llama-server-rpc-load-lv4.log'));
    expect(facts).toEqual({ architecture: 'llama', fileType: 'F16', parameterSize: '2.48M', layerCount: 8, contextLength: 2048 });
  });
});

describe('canonicalDevice', () => {
  it('folds CPU buffer kinds into CPU', () => {
    expect(canonicalDevice('CPU_Mapped')).toBe('CPU');
    expect(canonicalDevice('CPU_REPACK')).toBe('CPU');
  });
  it('names RPC buffers by endpoint', () => expect(canonicalDevice('RPC0[10.0.0.2:50052]')).toBe('RPC[10.0.0.2:50052]'));
  it('resolves bare device ids through aliases', () => {
    expect(canonicalDevice('RPC1', new Map([['RPC1', B]]))).toBe(B);
  });
});

describe('withDerivedLayerRanges', () => {
  const lv4 = readFileSync(resolve(__dirname, '../fixtures/llama-server-rpc-load-lv4.log'), 'utf8').split('\n');
  const lv5 = readFileSync(resolve(__dirname, '../fixtures/llama-server-rpc-load-lv5.log'), 'utf8').split('\n');
  const backends = ['127.0.0.1:47101', '127.0.0.1:47102'];

  it('matches the ranges the debug log lists', () => {
    const derived = withDerivedLayerRanges(parseLayerMap(lv4), { backends, tensorSplit: [0.5, 0.5] });
    const logged = parseLayerMap(lv5);
    expect(derived.devices.map((d) => d.layerRanges)).toEqual(logged.devices.map((d) => d.layerRanges));
    expect(derived.layerRangesDerived).toBe(true);
  });

  it('follows an uneven split', () => {
    const derived = withDerivedLayerRanges(parseLayerMap(lv4), { backends, tensorSplit: [1, 2] });
    expect(derived.devices[0].layerRanges).toEqual([[0, 2]]);
    expect(derived.devices[1].layerRanges).toEqual([[3, 8]]);
  });

  it('keeps ranges the log already lists', () => {
    const logged = parseLayerMap(lv5);
    expect(withDerivedLayerRanges(logged, { backends, tensorSplit: [1, 2] })).toBe(logged);
  });

  it('leaves the map alone without a tensor split', () => {
    const map = parseLayerMap(lv4);
    expect(withDerivedLayerRanges(map, { backends })).toBe(map);
  });

  it('leaves the map alone when devices differ from the backends', () => {
    const map = parseLayerMap(lv4);
    expect(withDerivedLayerRanges(map, { backends: ['127.0.0.9:50052', '127.0.0.1:47102'], tensorSplit: [0.5, 0.5] })).toBe(map);
  });
});
