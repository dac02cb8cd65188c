import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, symlink, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  listOllamaStoreModels,
  parseModelName,
  resolveOllamaModel,
  sameModel,
} from '../../electron/control/ollama-store';

const TINY_MODEL = resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf');

type Layer = { mediaType: string; digest: string; size: number };

/** Writes a blob named by its sha256, as `ollama pull` does, and returns its layer entry. */
async function writeBlob(store: string, mediaType: string, content: Buffer): Promise<Layer> {
  const hex = createHash('sha256').update(content).digest('hex');
  await writeFile(join(store, 'blobs', `sha256-${hex}`), content);
  return { mediaType, digest: `sha256:${hex}`, size: content.length };
}

async function writeManifest(store: string, name: string[], layers: Layer[], config?: Layer) {
  const dir = join(store, 'manifests', ...name.slice(0, 3));
  await mkdir(dir, { recursive: true });
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config,
    layers,
  };
  await writeFile(join(dir, name[3]), JSON.stringify(manifest));
}

describe('parseModelName', () => {
  const cases: [string, ReturnType<typeof parseModelName>][] = [
    ['llama3.2', { host: 'registry.ollama.ai', namespace: 'library', model: 'llama3.2', tag: 'latest' }],
    ['llama3.2:1b', { host: 'registry.ollama.ai', namespace: 'library', model: 'llama3.2', tag: '1b' }],
    ['user/m:q4', { host: 'registry.ollama.ai', namespace: 'user', model: 'm', tag: 'q4' }],
    ['localhost:5000/ns/m:v1', { host: 'localhost:5000', namespace: 'ns', model: 'm', tag: 'v1' }],
    ['m:tag@sha256:abcd', { host: 'registry.ollama.ai', namespace: 'library', model: 'm', tag: 'tag' }],
    ['', null],
    ['../etc/passwd', null],
    ['a/b/c/d', null],
    ['m:', null],
    ['has space', null],
  ];
  for (const [input, expected] of cases) {
    it(`parses ${JSON.stringify(input)}`, () => {
      expect(parseModelName(input)).toEqual(expected);
    });
  }
});

describe('sameModel', () => {
  it('matches the spellings Ollama treats as one model', () => {
    expect(sameModel('llama3.2:latest', 'llama3.2')).toBe(true);
    expect(sameModel('llama3.2:latest', 'registry.ollama.ai/library/llama3.2:latest')).toBe(true);
    expect(sameModel('llama3.2:latest', 'Llama3.2')).toBe(true);
    expect(sameModel('library/llama3.2', 'LLAMA3.2:LATEST')).toBe(true);
  });

  it('separates different tags, namespaces and hosts', () => {
    expect(sameModel('llama3.2:latest', 'llama3.2:1b')).toBe(false);
    expect(sameModel('llama3.2', 'someone/llama3.2')).toBe(false);
    expect(sameModel('llama3.2', 'example.com/library/llama3.2')).toBe(false);
  });

  it('matches nothing for invalid names', () => {
    expect(sameModel('', '')).toBe(false);
    expect(sameModel('a b', 'a b')).toBe(false);
  });
});

describe('Ollama store', () => {
  let store: string;
  let second: string;
  let modelLayer: Layer;

  beforeAll(async () => {
    store = await mkdtemp(join(tmpdir(), 'ollama-store-'));
    second = await mkdtemp(join(tmpdir(), 'ollama-store-2-'));
    for (const dir of [store, second]) await mkdir(join(dir, 'blobs'), { recursive: true });

    // The model blob is a symlink to the real tiny GGUF, named by the GGUF's sha256.
    const size = (await stat(TINY_MODEL)).size;
    const hex = createHash('sha256').update(await readFile(TINY_MODEL)).digest('hex');
    await symlink(TINY_MODEL, join(store, 'blobs', `sha256-${hex}`));
    modelLayer = { mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${hex}`, size };

    const config = await writeBlob(
      store,
      'application/vnd.docker.container.image.v1+json',
      Buffer.from(JSON.stringify({ model_format: 'gguf', model_family: 'llama', model_type: '1M', file_type: 'F32' })),
    );
    const template = await writeBlob(store, 'application/vnd.ollama.image.template', Buffer.from('{{ .Prompt }}'));
    await writeManifest(store, ['registry.ollama.ai', 'library', 'tiny', 'latest'], [modelLayer, template], config);
    await writeManifest(store, ['registry.ollama.ai', 'someone', 'tiny', 'q4'], [modelLayer]);
    await writeManifest(store, ['example.com:5000', 'team', 'tiny', 'v1'], [modelLayer]);

    // Broken entries: a size mismatch, a missing blob, no model layer, and invalid JSON.
    await writeManifest(store, ['registry.ollama.ai', 'library', 'wrongsize', 'latest'], [{ ...modelLayer, size: size + 1 }]);
    await writeManifest(store, ['registry.ollama.ai', 'library', 'noblob', 'latest'], [
      { ...modelLayer, digest: `sha256:${'0'.repeat(64)}` },
    ]);
    await writeManifest(store, ['registry.ollama.ai', 'library', 'nolayer', 'latest'], [template]);
    await mkdir(join(store, 'manifests', 'registry.ollama.ai', 'library', 'badjson'), { recursive: true });
    await writeFile(join(store, 'manifests', 'registry.ollama.ai', 'library', 'badjson', 'latest'), '{not json');

    // The second store repeats `tiny:latest`; the first directory wins.
    await symlink(TINY_MODEL, join(second, 'blobs', `sha256-${hex}`));
    await writeManifest(second, ['registry.ollama.ai', 'library', 'tiny', 'latest'], [modelLayer]);
    await writeManifest(second, ['registry.ollama.ai', 'library', 'other', '7b'], [modelLayer]);
  });

  afterAll(async () => {
    await rm(store, { recursive: true, force: true });
    await rm(second, { recursive: true, force: true });
  });

  it('lists valid models with display names', async () => {
    const models = await listOllamaStoreModels([store]);
    const names = models.map((model) => model.name).sort();
    expect(names).toEqual(['example.com:5000/team/tiny:v1', 'someone/tiny:q4', 'tiny:latest']);
  });

  it('reports blob path, size, digests and config', async () => {
    const [model] = (await listOllamaStoreModels([store])).filter((entry) => entry.name === 'tiny:latest');
    expect(model.path).toBe(join(store, 'blobs', modelLayer.digest.replace(':', '-')));
    expect(model.sizeBytes).toBe(modelLayer.size);
    expect(model.blobDigest).toBe(modelLayer.digest);
    expect(model.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(Number.isNaN(Date.parse(model.modifiedAt))).toBe(false);
    expect(model.config?.model_family).toBe('llama');
    expect(model.config?.file_type).toBe('F32');
  });

  it('skips broken manifests and blobs', async () => {
    const names = (await listOllamaStoreModels([store])).map((model) => model.name);
    for (const broken of ['wrongsize:latest', 'noblob:latest', 'nolayer:latest', 'badjson:latest']) {
      expect(names).not.toContain(broken);
    }
  });

  it('merges stores with the first one winning', async () => {
    const models = await listOllamaStoreModels([store, second]);
    const tiny = models.filter((model) => model.name === 'tiny:latest');
    expect(tiny).toHaveLength(1);
    expect(tiny[0].path.startsWith(store)).toBe(true);
    expect(models.map((model) => model.name)).toContain('other:7b');
  });

  it('resolves every spelling of one model', async () => {
    for (const name of ['tiny', 'tiny:latest', 'Tiny', 'library/tiny', 'registry.ollama.ai/library/tiny:latest']) {
      const model = await resolveOllamaModel(name, [store]);
      expect(model?.name, name).toBe('tiny:latest');
    }
    expect((await resolveOllamaModel('someone/TINY:Q4', [store]))?.name).toBe('someone/tiny:q4');
    expect((await resolveOllamaModel('example.com:5000/team/tiny:v1', [store]))?.sizeBytes).toBe(modelLayer.size);
  });

  it('resolves unknown and invalid names to null', async () => {
    expect(await resolveOllamaModel('tiny:1b', [store])).toBeNull();
    expect(await resolveOllamaModel('wrongsize', [store])).toBeNull();
    expect(await resolveOllamaModel('../../etc/passwd', [store])).toBeNull();
    expect(await resolveOllamaModel('tiny', [join(store, 'does-not-exist')])).toBeNull();
  });
});
