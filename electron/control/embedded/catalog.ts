import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from '../core/logger';
import { listOllamaStoreModels } from '../ollama-store/store';
import { sameModel } from '../ollama-store/model-name';

/** A model this node can serve: a `*.gguf` file of the models directory or an Ollama store model. */
export type CatalogModel = {
  /** `name:latest` for `name.gguf`; the store's display name otherwise. */
  name: string;
  path: string;
  /** sha256 hex: of the file for `*.gguf`, of the manifest for store models (as Ollama reports). */
  digest: string;
  sizeBytes: number;
  modifiedAt: string;
  source: 'models-dir' | 'ollama-store';
};

const fileDigests = new Map<string, { key: string; digest: string }>();

export class ModelCatalog {
  /** Error code of the last failed read of the models directory, so each failure is logged once. */
  private lastDirError: string | undefined;

  constructor(
    private readonly modelsDir: string | undefined,
    private readonly storeDirs: string[] | undefined,
    private readonly log: Logger,
  ) {}

  /** Lists all models, rescanning both sources on each call so new files show up at once. */
  async list(): Promise<CatalogModel[]> {
    const models = await this.listModelsDir();
    if (this.storeDirs && this.storeDirs.length > 0) {
      for (const model of await listOllamaStoreModels(this.storeDirs, { log: this.log })) {
        if (models.some((entry) => sameModel(entry.name, model.name))) continue;
        models.push({
          name: model.name,
          path: model.path,
          digest: model.digest,
          sizeBytes: model.sizeBytes,
          modifiedAt: model.modifiedAt,
          source: 'ollama-store',
        });
      }
    }
    return models;
  }

  /**
   * Logs a models directory that cannot be read once per kind of failure, because the catalogue
   * is rescanned on every listing. A missing directory is an empty catalogue, not an error.
   */
  private warnUnreadable(error: NodeJS.ErrnoException): void {
    const code = error.code ?? error.message;
    if (code === this.lastDirError) return;
    this.lastDirError = code;
    if (error.code === 'ENOENT') {
      this.log.warn({ dir: this.modelsDir }, `Models directory ${this.modelsDir} does not exist; serving no models from it until it is created`);
      return;
    }
    this.log.warn({ dir: this.modelsDir, code: error.code }, `Failed to read models directory ${this.modelsDir}: ${error.message}`);
  }

  /** Finds a model by any spelling Ollama accepts, or returns null. */
  async find(name: string): Promise<CatalogModel | null> {
    return (await this.list()).find((model) => sameModel(model.name, name)) ?? null;
  }

  private async listModelsDir(): Promise<CatalogModel[]> {
    if (!this.modelsDir) return [];
    let names: string[];
    try {
      names = await readdir(this.modelsDir);
    } catch (error) {
      this.warnUnreadable(error as NodeJS.ErrnoException);
      return [];
    }
    this.lastDirError = undefined;

    const models: CatalogModel[] = [];
    for (const file of names.filter((entry) => entry.toLowerCase().endsWith('.gguf')).sort()) {
      const path = join(this.modelsDir, file);
      try {
        const info = await stat(path);
        if (!info.isFile()) continue;
        models.push({
          name: `${basename(file, file.slice(-5))}:latest`,
          path,
          digest: await fileDigest(path, `${info.size}:${info.mtimeMs}`),
          sizeBytes: info.size,
          modifiedAt: info.mtime.toISOString(),
          source: 'models-dir',
        });
      } catch (error) {
        this.log.warn({ path, err: error }, 'Skipped unreadable model file');
      }
    }
    return models;
  }
}

// NOTE: the first listing hashes each file in full (seconds per GB); later ones use the cache.
async function fileDigest(path: string, key: string): Promise<string> {
  const hit = fileDigests.get(path);
  if (hit && hit.key === key) return hit.digest;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const digest = hash.digest('hex');
  fileDigests.set(path, { key, digest });
  return digest;
}
