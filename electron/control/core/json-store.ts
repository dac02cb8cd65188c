import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { z } from 'zod';
import { ErrorCodes } from '../../../shared/result';
import { ApiFailure } from './api-registry';

/**
 * Writes JSON atomically: a temporary file in the same folder is written and fsynced, then
 * renamed over the target, so a crash mid-write leaves either the old or the new file whole.
 */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify(value, null, 2) + '\n', 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

export type ReadJsonResult<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'missing' }
  | { kind: 'invalid'; message: string };

/** Reads and validates a JSON file. A missing file and an invalid one are outcomes, not throws. */
export async function readJson<S extends z.ZodType>(
  path: string,
  schema: S,
): Promise<ReadJsonResult<z.output<S>>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    // ENOTDIR: a folder on the path is a regular file, so this file cannot exist either.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { kind: 'invalid', message: `invalid JSON in ${path}: ${(error as Error).message}` };
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    return { kind: 'invalid', message: `unexpected content in ${path}: ${result.error.message}` };
  }
  return { kind: 'ok', value: result.data };
}

/**
 * Serialises writes to one file so that two saves in flight cannot finish out of order.
 */
export class SerialWriter {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  write(value: unknown): Promise<void> {
    const next = this.chain.then(() => writeJsonAtomic(this.path, value));
    this.chain = next.catch(() => undefined);
    return next;
  }
}

/** Error codes of a write that failed because of the folder, not the content. */
const NOT_WRITABLE_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'ENOSPC', 'EDQUOT']);

/** Tells whether a failed write means the folder cannot take files (permissions, read-only, full). */
export function isNotWritableError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && NOT_WRITABLE_CODES.has(code);
}

/** Builds the message for a data folder that cannot be written, naming the folder and the fix. */
export function notWritableMessage(dir: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? (error as Error | undefined)?.message ?? 'unknown error';
  return (
    `data folder ${dir} is not writable (${code}), so the change was not saved; ` +
    'make the folder writable or start with --data pointing at a writable folder'
  );
}

export type WritableCheck = { writable: true } | { writable: false; code: string; message: string };

/**
 * Checks that `dir` can be created and can take a new file, by writing and deleting a small
 * probe file. Returns the failure instead of throwing.
 */
export async function checkWritable(dir: string): Promise<WritableCheck> {
  const probe = join(dir, `.write-check.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(probe, 'wx', 0o600);
    await handle.close();
    await unlink(probe);
    return { writable: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    return { writable: false, code, message: (error as Error).message };
  }
}

/**
 * Saves a change that is already applied in memory. When the save fails, `rollback` restores
 * the previous state, so memory matches the file again, and the error names the data folder
 * when the folder is the cause. `what` names the change for other errors, e.g. "the RPC backends".
 */
export async function saveOrRollback(dataDir: string, what: string, save: () => Promise<void>, rollback: () => void): Promise<void> {
  try {
    await save();
  } catch (error) {
    rollback();
    if (isNotWritableError(error)) throw new ApiFailure(ErrorCodes.unavailable, notWritableMessage(dataDir, error));
    throw new ApiFailure(ErrorCodes.internal, `saving ${what} in ${dataDir} failed: ${(error as Error).message}`);
  }
}
