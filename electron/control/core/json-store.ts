import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { z } from 'zod';

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
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
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
