import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { readGgufFileInfo } from 'node-llama-cpp';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRootLogger } from '../../electron/control/core/logger';
import { MODEL_LOAD_FAILURE_PREFIX, startEmbeddedNode, type EmbeddedNode } from '../../electron/control/embedded';

const MODELS_DIR = resolve(__dirname, '../../../shared/models');

// GGUF value type ids from the GGUF file format.
const GGUF_UINT32 = 4;
const GGUF_STRING = 8;

type KeyValue = [key: string, type: typeof GGUF_UINT32 | typeof GGUF_STRING, value: number | string];
type TensorSpec = { name: string; dims: number[]; ggmlType: number; offset: number };

function ggufString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(bytes.length));
  return Buffer.concat([length, bytes]);
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value);
  return buffer;
}

function uint64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(BigInt(value));
  return buffer;
}

/** Builds a GGUF version 3 header with the given metadata and tensor descriptions and no tensor data. */
function ggufHeader(keyValues: KeyValue[], tensors: TensorSpec[] = []): Buffer {
  const parts: Buffer[] = [Buffer.from('GGUF', 'ascii'), uint32(3), uint64(tensors.length), uint64(keyValues.length)];
  for (const [key, type, value] of keyValues) {
    parts.push(ggufString(key), uint32(type));
    parts.push(type === GGUF_STRING ? ggufString(String(value)) : uint32(Number(value)));
  }
  for (const tensor of tensors) {
    parts.push(ggufString(tensor.name), uint32(tensor.dims.length));
    for (const dim of tensor.dims) parts.push(uint64(dim));
    parts.push(uint32(tensor.ggmlType), uint64(tensor.offset));
  }
  const header = Buffer.concat(parts);
  // Tensor data starts at the next multiple of the default alignment, 32 bytes.
  const padding = (32 - (header.length % 32)) % 32;
  return Buffer.concat([header, Buffer.alloc(padding)]);
}

const LLAMA_KEYS: KeyValue[] = [
  ['general.architecture', GGUF_STRING, 'llama'],
  ['general.name', GGUF_STRING, 'no weights'],
  ['llama.block_count', GGUF_UINT32, 1],
];

/** A ChatML chat template in Jinja, as GGUF files store it in `tokenizer.chat_template`. */
const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Collects the JSON lines a pino logger writes. */
class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];

  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    callback();
  }

  skipsOf(path: string): Record<string, unknown>[] {
    return this.lines.filter((line) => line.path === path && String(line.msg).startsWith('Skipped model file'));
  }
}

/** Writes an Ollama store entry `name:latest` whose model layer is `blob`, and returns the blob's path. */
async function writeStoreModel(store: string, name: string, blob: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const blobPath = join(store, 'blobs', digest.replace(':', '-'));
  await mkdir(join(store, 'blobs'), { recursive: true });
  await writeFile(blobPath, blob);
  const manifestDir = join(store, 'manifests', 'registry.ollama.ai', 'library', name);
  await mkdir(manifestDir, { recursive: true });
  const manifest = { schemaVersion: 2, layers: [{ mediaType: 'application/vnd.ollama.image.model', digest, size: blob.length }] };
  await writeFile(join(manifestDir, 'latest'), JSON.stringify(manifest));
  return blobPath;
}

let dir: string;
let node: EmbeddedNode;
const logs = new LogCapture();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'embedded-model-files-'));
  await writeFile(join(dir, 'broken.gguf'), 'this is a text file, not a model\n');
  await writeFile(join(dir, 'empty.gguf'), '');
  const header = ggufHeader(LLAMA_KEYS);
  await writeFile(join(dir, 'cut-header.gguf'), header.subarray(0, 40));
  // The header describes a 64x64 F32 tensor (16 KiB) but the file ends where its data would begin.
  await writeFile(join(dir, 'no-data.gguf'), ggufHeader(LLAMA_KEYS, [{ name: 'token_embd.weight', dims: [64, 64], ggmlType: 0, offset: 0 }]));
  // A complete header without any tensors is listed, and llama.cpp fails to load it.
  await writeFile(join(dir, 'no-weights.gguf'), header);
  await writeFile(join(dir, 'chatml.gguf'), ggufHeader([...LLAMA_KEYS, ['tokenizer.chat_template', GGUF_STRING, CHATML_TEMPLATE]]));
  await symlink(join(MODELS_DIR, 'tiny-llama-8L.gguf'), join(dir, 'tiny-llama-8L.gguf'));
  await symlink(join(MODELS_DIR, 'llama-2-tiny-random.gguf'), join(dir, 'llama-2-tiny-random.gguf'));
  await symlink(join(MODELS_DIR, 'llama-2-tiny-random.gguf'), join(dir, 'Odd Name!.gguf'));
  await symlink(join(MODELS_DIR, 'llama-2-tiny-random.gguf'), join(dir, 'tiny@v2.gguf'));
  await symlink(join(MODELS_DIR, 'llama-2-tiny-random.gguf'), join(dir, 'tiny-llama-8l.gguf'));
  await writeStoreModel(join(dir, 'store'), 'store-text', Buffer.from('a text blob where the weights should be\n'));
  const log = createRootLogger({ level: 'debug', destination: logs });
  node = await startEmbeddedNode({ modelsDir: dir, ollamaStoreDirs: [join(dir, 'store')], threads: 1, log });
});

afterAll(async () => {
  await node?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function post(path: string, body: object): Promise<Response> {
  return fetch(`${node.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
}

async function tagNames(): Promise<string[]> {
  const response = await fetch(`${node.url}/api/tags`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { models: { name: string }[] };
  return body.models.map((model) => model.name);
}

async function expectError(response: Response, status: number, message: string | RegExp): Promise<void> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: string };
  if (typeof message === 'string') expect(body.error).toBe(message);
  else expect(body.error).toMatch(message);
}

describe('embedded node model file checks', () => {
  const badFiles = [
    { file: 'broken.gguf', reason: /does not start with the GGUF magic bytes/ },
    { file: 'empty.gguf', reason: /the file is empty/ },
    { file: 'cut-header.gguf', reason: /truncated|GGUF header cannot be read/ },
    { file: 'no-data.gguf', reason: /truncated: its tensors end at byte \d+ but the file has \d+ bytes/ },
  ];

  it('lists only readable GGUF files', async () => {
    expect(await tagNames()).toEqual(['chatml:latest', 'llama-2-tiny-random:latest', 'no-weights:latest', 'tiny-llama-8L:latest']);
  });

  it('logs each bad file once without a stack', async () => {
    await tagNames();
    await tagNames();
    for (const { file, reason } of badFiles) {
      const skips = logs.skipsOf(join(dir, file));
      expect(skips, file).toHaveLength(1);
      expect(skips[0].level, file).toBe(40);
      expect(String(skips[0].reason), file).toMatch(reason);
      expect(String(skips[0].msg), file).toContain(join(dir, file));
      expect(skips[0].err, file).toBeUndefined();
      expect(JSON.stringify(skips[0]), file).not.toMatch(/\n\s+at /);
    }
  });

  it('answers 404 for bad files on every endpoint', async () => {
    for (const { file } of badFiles) {
      const model = file.slice(0, -'.gguf'.length);
      const notFound = `model '${model}' not found`;
      await expectError(await post('/api/chat', { model, messages: [{ role: 'user', content: 'x' }], stream: false }), 404, notFound);
      await expectError(await post('/api/generate', { model, prompt: 'x', stream: false }), 404, notFound);
      await expectError(await post('/api/show', { model }), 404, notFound);
      await expectError(await post('/api/embed', { model, input: 'x' }), 404, notFound);
    }
  });

  it('leaves out a bad Ollama store blob', async () => {
    const skips = logs.lines.filter((line) => String(line.msg).startsWith('Skipped model file') && String(line.path).includes(join(dir, 'store')));
    expect(skips).toHaveLength(1);
    expect(String(skips[0].reason)).toMatch(/does not start with the GGUF magic bytes/);
    await expectError(await post('/api/show', { model: 'store-text' }), 404, "model 'store-text' not found");
  });

  it('rechecks a bad file once it changes', async () => {
    const path = join(dir, 'broken.gguf');
    await writeFile(path, 'still not a model, but longer than before\n');
    await tagNames();
    await tagNames();
    expect(logs.skipsOf(path)).toHaveLength(2);

    await writeFile(path, ggufHeader(LLAMA_KEYS));
    expect(await tagNames()).toContain('broken:latest');
    await writeFile(path, 'text again');
    expect(await tagNames()).not.toContain('broken:latest');
    expect(logs.skipsOf(path)).toHaveLength(3);
  });
});

describe('embedded node model names', () => {
  it('leaves out a file whose name is not a valid model name', async () => {
    const names = await tagNames();
    expect(names.some((name) => name.startsWith('Odd'))).toBe(false);
    const skips = logs.skipsOf(join(dir, 'Odd Name!.gguf'));
    expect(skips).toHaveLength(1);
    expect(String(skips[0].reason)).toMatch(/'Odd Name!:latest' is not a valid Ollama model name/);
  });

  it('leaves out a name that parses to another', async () => {
    const skips = logs.skipsOf(join(dir, 'tiny@v2.gguf'));
    expect(skips).toHaveLength(1);
    expect(String(skips[0].reason)).toMatch(/'tiny@v2:latest' is not a valid Ollama model name/);
    await expectError(await post('/api/show', { model: 'tiny' }), 404, "model 'tiny' not found");
  });

  it('leaves out a name differing only in case', async () => {
    const skips = logs.skipsOf(join(dir, 'tiny-llama-8l.gguf'));
    expect(skips).toHaveLength(1);
    expect(String(skips[0].reason)).toMatch(/'tiny-llama-8l:latest' differs only in case/);
    const shown = (await (await post('/api/show', { model: 'TINY-LLAMA-8L' })).json()) as { model_info: Record<string, unknown> };
    expect(shown.model_info['llama.block_count']).toBe(8);
  });

  it('answers 404 for the invalid name as Ollama does', async () => {
    for (const model of ['Odd Name!', 'Odd Name!:latest']) {
      await expectError(await post('/api/chat', { model, messages: [{ role: 'user', content: 'x' }], stream: false }), 404, `model '${model}' not found`);
      await expectError(await post('/api/show', { model }), 404, `model '${model}' not found`);
    }
  });
});

describe('embedded node load failures', () => {
  it('starts the message with the load failure prefix', async () => {
    expect(MODEL_LOAD_FAILURE_PREFIX).toBe('failed to load model');
    const response = await post('/api/generate', { model: 'no-weights', prompt: 'x', stream: false });
    await expectError(response, 500, "failed to load model 'no-weights:latest': error loading model hyperparameters: key not found in model: llama.context_length");
  });

  it('keeps serving good models after a load failure', async () => {
    const response = await post('/api/generate', { model: 'tiny-llama-8L', prompt: 'x', stream: false, options: { num_predict: 2 } });
    expect(response.status).toBe(200);
  });
});

/** Fills the template's no-system branch with a prompt, as Ollama does for a request without `system`. */
function applyTemplate(template: string, prompt: string): string {
  const branch = /^\{\{ if \.System \}\}[\s\S]*\{\{ else \}\}([\s\S]*)\{\{ end \}\}$/.exec(template);
  return (branch ? branch[1] : template).replaceAll('{{ .Prompt }}', prompt);
}

describe('embedded node show template', () => {
  const client = () => new Ollama({ host: node.url });

  /** Reads a SentencePiece vocabulary from the GGUF header, so the test needs no llama.cpp instance of its own. */
  async function loadVocabulary(modelPath: string): Promise<(tokens: number[]) => string> {
    const info = await readGgufFileInfo(modelPath, { readTensorInfo: false, logWarnings: false });
    const ggml = (info.metadata as unknown as { tokenizer: { ggml: { tokens: string[]; bos_token_id: number } } }).tokenizer.ggml;
    return (tokens) =>
      tokens
        .filter((token) => token !== ggml.bos_token_id)
        .map((token) => ggml.tokens[token])
        .join('')
        .replaceAll('\u2581', ' ');
  }

  it('reports the Llama 2 chat format for tiny-llama-8L', async () => {
    const showResponse = await client().show({ model: 'tiny-llama-8L' });
    expect(showResponse.template).toBe(
      '{{ if .System }}[INST] <<SYS>>\n{{ .System }}\n<</SYS>>\n\n{{ .Prompt }} [/INST] {{ else }}[INST] {{ .Prompt }} [/INST] {{ end }}',
    );
    expect(showResponse.modelfile).toContain(`TEMPLATE """${showResponse.template}"""`);
  });

  it('renders the GGUF chat template', async () => {
    const showResponse = await client().show({ model: 'chatml' });
    expect(showResponse.template).toBe(
      '{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n<|im_start|>user\n{{ .Prompt }}<|im_end|>\n<|im_start|>assistant\n' +
        '{{ else }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n<|im_start|>assistant\n{{ end }}',
    );
  });

  for (const model of ['tiny-llama-8L', 'llama-2-tiny-random']) {
    it(`matches the prompt generate sends for ${model}`, async () => {
      const before = (await client().show({ model })).template;
      const prompt = 'hello there';
      const options = { num_predict: 1, seed: 1, temperature: 0 };
      const templated = await client().generate({ model, prompt, options, stream: false });
      const raw = await client().generate({ model, prompt: applyTemplate(before, prompt), raw: true, options, stream: false });

      // The chat path tokenizes each piece of the template on its own, so SentencePiece adds a
      // word-boundary space at each seam and the tokens differ while the text matches.
      const vocabulary = await loadVocabulary(join(MODELS_DIR, `${model}.gguf`));
      const promptText = (context: number[] | undefined, evalCount: number) => {
        const tokens = (context ?? []).slice(0, (context ?? []).length - evalCount);
        return vocabulary(tokens).replace(/\s+/g, ' ').trim();
      };
      const sent = promptText(templated.context, templated.eval_count);
      expect(sent).toContain(prompt);
      expect(promptText(raw.context, raw.eval_count)).toBe(sent);

      // Once the model is loaded, its tokenizer takes part in picking the format, which must stay the same.
      expect((await client().show({ model })).template).toBe(before);
    });
  }
});
