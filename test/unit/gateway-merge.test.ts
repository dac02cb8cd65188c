import { describe, expect, it } from 'vitest';
import { compareVersions, lowestVersion, mergeByDigest, toOpenAiModels } from '../../electron/control/gateway/merge';
import type { PsEntry, TagEntry } from '../../electron/control/nodes/ollama-schemas';

const tag = (name: string, digest: string): TagEntry => ({
  name,
  model: name,
  modified_at: '2026-01-02T03:04:05Z',
  size: 100,
  digest,
  details: { format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '1B', quantization_level: 'Q4_0' },
});

describe('mergeByDigest', () => {
  it('lists a model held by two nodes once, naming both nodes', () => {
    const merged = mergeByDigest([
      { nodeName: 'gpu-1', models: [tag('llama3.2:latest', 'sha-a'), tag('qwen:1b', 'sha-b')] },
      { nodeName: 'cpu-2', models: [tag('llama3.2:latest', 'sha-a')] },
    ]);
    expect(merged.map((m) => m.name)).toEqual(['llama3.2:latest', 'qwen:1b']);
    expect(merged[0].synaptic_nodes).toEqual(['gpu-1', 'cpu-2']);
    expect(merged[1].synaptic_nodes).toEqual(['gpu-1']);
    expect(merged[0].details?.family).toBe('llama');
  });

  it('keeps two models with one name but different digests apart', () => {
    const merged = mergeByDigest([
      { nodeName: 'a', models: [tag('m:latest', 'sha-1')] },
      { nodeName: 'b', models: [tag('m:latest', 'sha-2')] },
    ]);
    expect(merged).toHaveLength(2);
  });

  it('returns an empty list, not null, when nothing is listed', () => {
    expect(mergeByDigest<PsEntry>([])).toEqual([]);
    expect(mergeByDigest<PsEntry>([{ nodeName: 'a', models: [] }])).toEqual([]);
  });

  it('keeps ps fields such as size_vram and context_length', () => {
    const entry: PsEntry = { ...tag('m:latest', 'sha-1'), expires_at: '2026-01-01T00:00:00Z', size_vram: 50, context_length: 4096 };
    const [merged] = mergeByDigest([{ nodeName: 'a', models: [entry] }]);
    expect(merged.size_vram).toBe(50);
    expect(merged.context_length).toBe(4096);
    expect(merged.expires_at).toBe('2026-01-01T00:00:00Z');
  });
});

describe('lowestVersion', () => {
  it('compares numerically, not as text', () => {
    expect(lowestVersion(['0.10.1', '0.9.5', '0.12.0'])).toBe('0.9.5');
    expect(compareVersions('0.6.10', '0.6.9')).toBeGreaterThan(0);
    expect(compareVersions('v1.0.0-rc1', '1.0.0')).toBe(0);
  });
  it('returns undefined for no versions', () => expect(lowestVersion([])).toBeUndefined());
});

describe('toOpenAiModels', () => {
  it('maps tags to OpenAI model objects', () => {
    const list = toOpenAiModels([tag('llama3.2:latest', 'a'), tag('jmorgan/tiny:q4', 'b')]);
    expect(list.object).toBe('list');
    expect(list.data).toEqual([
      { id: 'llama3.2:latest', object: 'model', created: 1767323045, owned_by: 'library' },
      { id: 'jmorgan/tiny:q4', object: 'model', created: 1767323045, owned_by: 'jmorgan' },
    ]);
  });
});
