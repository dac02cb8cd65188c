import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from '../core/logger';
import { listOllamaStoreModels } from '../ollama-store/store';
import { canonicalModelName, displayModelName, parseModelName, sameModel } from '../ollama-store/model-name';
import { checkModelFile } from './model-file-check';

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
  /** Version and reason of each model file last logged as skipped, keyed by path. */
  private readonly skippedFiles = new Map<string, string>();

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
        if (!(await this.isUsableStoreBlob(model.path))) continue;
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

  /** Checks an Ollama store blob the way models-directory files are checked, logging a bad one once. */
  private async isUsableStoreBlob(path: string): Promise<boolean> {
    let info: Stats;
    try {
      info = await stat(path);
    } catch (error) {
      this.skipFile(path, undefined, `the file cannot be read: ${(error as Error).message}`);
      return false;
    }
    const check = await checkModelFile(path, info.size, info.mtimeMs);
    if (!check.ok) {
      this.skipFile(path, `${info.size}:${info.mtimeMs}`, check.reason);
      return false;
    }
    this.skippedFiles.delete(path);
    return true;
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
    const seen = new Set<string>();
    for (const file of names.filter((entry) => entry.toLowerCase().endsWith('.gguf')).sort()) {
      const path = join(this.modelsDir, file);
      let info: Stats;
      try {
        info = await stat(path);
      } catch (error) {
        this.skipFile(path, undefined, `the file cannot be read: ${(error as Error).message}`);
        continue;
      }
      if (!info.isFile()) continue;
      const version = `${info.size}:${info.mtimeMs}`;

      const name = `${basename(file, file.slice(-5))}:latest`;
      // A name must parse back to itself: parseModelName trims spaces and drops an `@digest`.
      const parsed = parseModelName(name);
      if (!parsed || displayModelName(parsed) !== name) {
        this.skipFile(
          path,
          version,
          `'${name}' is not a valid Ollama model name, which has at most 80 letters, digits, '_', '-' and '.' and starts with a letter, digit or '_'. Rename the file to serve it`,
        );
        continue;
      }
      const canonical = canonicalModelName(name)!;
      if (seen.has(canonical)) {
        this.skipFile(path, version, `its model name '${name}' differs only in case from another file in ${this.modelsDir}`);
        continue;
      }

      const check = await checkModelFile(path, info.size, info.mtimeMs);
      if (!check.ok) {
        this.skipFile(path, version, check.reason);
        continue;
      }
      try {
        models.push({
          name,
          path,
          digest: await fileDigest(path, version),
          sizeBytes: info.size,
          modifiedAt: info.mtime.toISOString(),
          source: 'models-dir',
        });
        seen.add(canonical);
        this.skippedFiles.delete(path);
      } catch (error) {
        this.skipFile(path, version, `the file cannot be read: ${(error as Error).message}`);
      }
    }
    return models;
  }

  /**
   * Logs a model file left out of the catalogue, once per path and file version (size and
   * modification time), because the catalogue is rescanned on every listing.
   */
  private skipFile(path: string, version: string | undefined, reason: string): void {
    const key = `${version ?? 'unreadable'}:${reason}`;
    if (this.skippedFiles.get(path) === key) return;
    this.skippedFiles.set(path, key);
    this.log.warn({ path, reason }, `Skipped model file ${path}: ${reason}`);
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
