import { join } from 'node:path';
import { z } from 'zod';
import { readJson, saveOrRollback, SerialWriter } from '../core/json-store';
import { parseEndpoint } from './flags';

export const rpcBackendRecord = z.object({
  /** `host:port` of the RPC server. */
  endpoint: z.string().refine((v) => !('error' in parseEndpoint(v)), { message: 'expected host:port' }),
  name: z.string().min(1).max(80).optional(),
  addedAt: z.string(),
});

const rpcBackendFile = z.object({ version: z.literal(1), backends: z.array(rpcBackendRecord) });

export type RpcBackendRecord = z.output<typeof rpcBackendRecord>;

/** RPC backends the user added, persisted in `<dataDir>/rpc-backends.json` with atomic writes. */
export class RpcBackendStore {
  private backends: RpcBackendRecord[] = [];
  private readonly writer: SerialWriter;
  readonly path: string;
  /** Set when the file existed but could not be read; the list then starts empty and the file is left alone until the next change. */
  loadProblem: string | null = null;

  constructor(private readonly dataDir: string) {
    this.path = join(dataDir, 'rpc-backends.json');
    this.writer = new SerialWriter(this.path);
  }

  async load(): Promise<void> {
    const result = await readJson(this.path, rpcBackendFile);
    if (result.kind === 'ok') this.backends = result.value.backends;
    else if (result.kind === 'invalid') this.loadProblem = result.message;
  }

  list(): RpcBackendRecord[] {
    return this.backends.map((b) => ({ ...b }));
  }

  has(endpoint: string): boolean {
    return this.backends.some((b) => b.endpoint === endpoint);
  }

  async add(endpoint: string, name: string | undefined, now = new Date()): Promise<RpcBackendRecord> {
    const record: RpcBackendRecord = { endpoint, ...(name ? { name } : {}), addedAt: now.toISOString() };
    const previous = this.backends;
    this.backends = [...this.backends.filter((b) => b.endpoint !== endpoint), record];
    await this.saveOrRestore(previous);
    return record;
  }

  async remove(endpoint: string): Promise<boolean> {
    const previous = this.backends;
    this.backends = this.backends.filter((b) => b.endpoint !== endpoint);
    if (this.backends.length === previous.length) return false;
    await this.saveOrRestore(previous);
    return true;
  }

  /** Saves the list, or puts `previous` back and throws when the file cannot be written. */
  private saveOrRestore(previous: RpcBackendRecord[]): Promise<void> {
    return saveOrRollback(this.dataDir, 'the RPC backends', () => this.writer.write({ version: 1, backends: this.backends }), () => {
      this.backends = previous;
    });
  }
}
