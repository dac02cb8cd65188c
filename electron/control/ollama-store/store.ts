import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../core/logger';
import { displayModelName, parseModelName, sameModel, type ModelName } from './model-name';

export const MODEL_LAYER_MEDIA_TYPE = 'application/vnd.ollama.image.model';

/** A model of a local Ollama store, used in place and read-only. */
export type StoreModel = {
  /** `llama3.2:latest`, or `namespace/model:tag` / `host/namespace/model:tag` off the defaults. */
  name: string;
  /** Absolute path of the GGUF blob. */
  path: string;
  /** sha256 hex of the manifest file, the digest `ollama list` and `/api/tags` show. */
  digest: string;
  /** `sha256:<hex>` of the model layer. */
  blobDigest: string;
  sizeBytes: number;
  /** ISO time the manifest was last written. */
  modifiedAt: string;
  /** Fields of the config blob (`model_format`, `model_family`, ...), when it could be read. */
  config?: StoreModelConfig;
};

export type StoreModelConfig = {
  model_format?: string;
  model_family?: string;
  model_families?: string[];
  model_type?: string;
  file_type?: string;
};

const layerSchema = z.object({
  mediaType: z.string(),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});

const manifestSchema = z.object({
  schemaVersion: z.number().optional(),
  config: layerSchema.optional(),
  layers: z.array(layerSchema),
});

const configSchema = z
  .object({
    model_format: z.string().optional(),
    model_family: z.string().optional(),
    model_families: z.array(z.string()).nullable().optional(),
    model_type: z.string().optional(),
    file_type: z.string().optional(),
  })
  .passthrough();

export type StoreOptions = { log?: Logger };

/** Lists the store directories Ollama uses: `OLLAMA_MODELS`, then the per-user and system ones. */
export function defaultOllamaStoreDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.OLLAMA_MODELS) dirs.push(process.env.OLLAMA_MODELS);
  dirs.push(join(homedir(), '.ollama', 'models'));
  dirs.push('/usr/share/ollama/.ollama/models');
  return [...new Set(dirs)];
}

/**
 * Lists every model of the given stores whose manifest names a model layer whose blob exists
 * with the size the manifest states. Broken entries are skipped and logged at debug level. When
 * two stores contain the same name, the first directory wins.
 */
export async function listOllamaStoreModels(
  dirs: string[] = defaultOllamaStoreDirs(),
  options: StoreOptions = {},
): Promise<StoreModel[]> {
  const found: StoreModel[] = [];
  for (const dir of dirs) {
    for (const name of await listManifestNames(dir)) {
      if (found.some((model) => sameModel(model.name, displayModelName(name)))) continue;
      const model = await readStoreModel(dir, name, options);
      if (model) found.push(model);
    }
  }
  return found;
}

/** Finds one model by any spelling Ollama accepts (`Llama3.2`, `library/llama3.2:latest`, ...). */
export async function resolveOllamaModel(
  name: string,
  dirs: string[] = defaultOllamaStoreDirs(),
  options: StoreOptions = {},
): Promise<StoreModel | null> {
  const parsed = parseModelName(name);
  if (!parsed) return null;

  // The exact path first; a listing covers names that differ only in case.
  for (const dir of dirs) {
    const model = await readStoreModel(dir, parsed, options);
    if (model) return model;
  }
  const all = await listOllamaStoreModels(dirs, options);
  return all.find((model) => sameModel(model.name, name)) ?? null;
}

async function listManifestNames(dir: string): Promise<ModelName[]> {
  const root = join(dir, 'manifests');
  const names: ModelName[] = [];
  for (const host of await listDirs(root)) {
    for (const namespace of await listDirs(join(root, host))) {
      for (const model of await listDirs(join(root, host, namespace))) {
        for (const tag of await listFiles(join(root, host, namespace, model))) {
          const parsed = parseModelName(`${host}/${namespace}/${model}:${tag}`);
          if (parsed) names.push(parsed);
        }
      }
    }
  }
  return names;
}

async function readStoreModel(
  dir: string,
  name: ModelName,
  options: StoreOptions,
): Promise<StoreModel | null> {
  const manifestPath = join(dir, 'manifests', name.host, name.namespace, name.model, name.tag);
  let text: Buffer;
  let modifiedAt: Date;
  try {
    const info = await stat(manifestPath);
    if (!info.isFile()) return null;
    modifiedAt = info.mtime;
    text = await readFile(manifestPath);
  } catch {
    return null;
  }

  const skip = (reason: string): null => {
    options.log?.debug({ manifest: manifestPath, reason }, 'Skipped Ollama store entry');
    return null;
  };

  let json: unknown;
  try {
    json = JSON.parse(text.toString('utf8'));
  } catch {
    return skip('manifest is not valid JSON');
  }
  const manifest = manifestSchema.safeParse(json);
  if (!manifest.success) return skip(`invalid manifest: ${manifest.error.message}`);

  const layer = manifest.data.layers.find((entry) => entry.mediaType === MODEL_LAYER_MEDIA_TYPE);
  if (!layer) return skip(`no layer with media type ${MODEL_LAYER_MEDIA_TYPE}`);

  const blobPath = blobPathFor(dir, layer.digest);
  try {
    const blob = await stat(blobPath);
    if (!blob.isFile()) return skip(`blob ${blobPath} is not a file`);
    if (blob.size !== layer.size) {
      return skip(`blob ${blobPath} has ${blob.size} bytes but the manifest states ${layer.size}`);
    }
  } catch {
    return skip(`blob ${blobPath} is missing`);
  }

  const config = manifest.data.config ? await readConfig(dir, manifest.data.config.digest) : undefined;
  return {
    name: displayModelName(name),
    path: blobPath,
    digest: createHash('sha256').update(text).digest('hex'),
    blobDigest: layer.digest,
    sizeBytes: layer.size,
    modifiedAt: modifiedAt.toISOString(),
    config,
  };
}

async function readConfig(dir: string, digest: string): Promise<StoreModelConfig | undefined> {
  try {
    const parsed = configSchema.safeParse(JSON.parse(await readFile(blobPathFor(dir, digest), 'utf8')));
    if (!parsed.success) return undefined;
    const { model_format, model_family, model_families, model_type, file_type } = parsed.data;
    return { model_format, model_family, model_families: model_families ?? undefined, model_type, file_type };
  } catch {
    return undefined;
  }
}

function blobPathFor(dir: string, digest: string): string {
  return join(dir, 'blobs', digest.replace(':', '-'));
}

async function listDirs(path: string): Promise<string[]> {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch {
    return [];
  }
}

async function listFiles(path: string): Promise<string[]> {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
  } catch {
    return [];
  }
}
