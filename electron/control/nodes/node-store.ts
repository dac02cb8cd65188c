import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { checkWritable, readJson, SerialWriter, type WritableCheck } from '../core/json-store';
import type { Logger } from '../core/logger';
import { normalizeNodeUrl } from './node-url';

/** One user-added node as stored in `nodes.json`. */
export const storedNodeSchema = z.object({
  id: z.string().min(1),
  url: z.string().refine((url) => normalizeNodeUrl(url).ok, { message: 'invalid node URL' }),
  name: z.string().min(1).max(80),
  gpuVramBytes: z.number().int().nonnegative().optional(),
  addedAt: z.string(),
});

export const nodesFileSchema = z.object({
  version: z.literal(1),
  nodes: z.array(storedNodeSchema),
});

export type StoredNode = z.output<typeof storedNodeSchema>;

/**
 * Reads and writes `<dataDir>/nodes.json`. Writes are atomic and serialised. A file that fails
 * validation is renamed to `nodes.json.corrupt-<time>` and logged, so a later save cannot
 * overwrite what the user had.
 */
export class NodeStore {
  readonly path: string;
  private readonly writer: SerialWriter;

  constructor(
    readonly dataDir: string,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.path = join(dataDir, 'nodes.json');
    this.writer = new SerialWriter(this.path);
  }

  async load(): Promise<StoredNode[]> {
    const result = await readJson(this.path, nodesFileSchema);
    if (result.kind === 'missing') return [];
    if (result.kind === 'ok') return result.value.nodes;

    const stamp = this.now().toISOString().replace(/[:.]/g, '-');
    const aside = `${this.path}.corrupt-${stamp}`;
    await rename(this.path, aside);
    this.log.error({ path: this.path, keptAs: aside, reason: result.message }, 'Node list is invalid; kept it aside and started with no nodes');
    return [];
  }

  /** Checks that the data folder can take new files, so a failing save can be predicted at start. */
  checkWritable(): Promise<WritableCheck> {
    return checkWritable(this.dataDir);
  }

  save(nodes: StoredNode[]): Promise<void> {
    return this.writer.write({ version: 1, nodes });
  }
}
