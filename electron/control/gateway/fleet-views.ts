import type { NodeView } from '../../../shared/types';
import type { Logger } from '../core/logger';
import { psResponse, tagsResponse, type PsEntry, type TagEntry } from '../nodes/ollama-schemas';
import { describeFetchError } from '../nodes/probe';
import { lowestVersion, mergeByDigest, type NodeListing } from './merge';
import type { z } from 'zod';

export type FleetViewOptions = {
  fleet: () => NodeView[];
  log: Logger;
  /** How long a merged `/api/tags` or `/api/ps` response is reused, in ms. */
  cacheMs: number;
  /** Per-node timeout of the fan-out, in ms. */
  timeoutMs: number;
};

type CacheSlot<T> = { at: number; value: Promise<T> };

/**
 * Serves `/api/tags`, `/api/ps` and `/api/version` for the whole fleet by querying every node that
 * is not down, in parallel, and caching the merged response briefly. A node that fails is left out.
 */
export class FleetViews {
  private tagsCache?: CacheSlot<TagEntry[]>;
  private psCache?: CacheSlot<PsEntry[]>;

  constructor(private readonly options: FleetViewOptions) {}

  tags(): Promise<TagEntry[]> {
    this.tagsCache = this.fresh(this.tagsCache, () => this.fanOut('/api/tags', tagsResponse));
    return this.tagsCache.value;
  }

  ps(): Promise<PsEntry[]> {
    this.psCache = this.fresh(this.psCache, () => this.fanOut('/api/ps', psResponse));
    return this.psCache.value;
  }

  /** Drops the cached `/api/ps` response, after a request that may have loaded or unloaded a model. */
  invalidatePs(): void {
    this.psCache = undefined;
  }

  /** Drops cached answers, for example after a node was added or removed. */
  invalidate(): void {
    this.tagsCache = undefined;
    this.psCache = undefined;
  }

  /** Lowest version among nodes that are up or degraded, else among all nodes, else `0.0.0`. */
  version(): string {
    const nodes = this.options.fleet();
    const healthy = nodes.filter((n) => n.health === 'up' || n.health === 'degraded').map((n) => n.version);
    const any = nodes.map((n) => n.version);
    const pick = (list: (string | undefined)[]) => lowestVersion(list.filter((v): v is string => !!v));
    return pick(healthy) ?? pick(any) ?? '0.0.0';
  }

  private fresh<T>(slot: CacheSlot<T> | undefined, load: () => Promise<T>): CacheSlot<T> {
    const now = Date.now();
    if (slot && now - slot.at < this.options.cacheMs) return slot;
    return { at: now, value: load() };
  }

  private async fanOut<S extends typeof tagsResponse | typeof psResponse>(
    path: string,
    schema: S,
  ): Promise<z.output<S>['models']> {
    const nodes = this.options.fleet().filter((node) => node.health !== 'down');
    const listings = await Promise.all(
      nodes.map(async (node): Promise<NodeListing<TagEntry | PsEntry> | null> => {
        try {
          const response = await fetch(`${node.url}${path}`, { signal: AbortSignal.timeout(this.options.timeoutMs) });
          if (!response.ok) throw new Error(`returned ${response.status}`);
          const parsed = schema.safeParse(await response.json());
          if (!parsed.success) throw new Error(`unexpected JSON: ${parsed.error.issues[0]?.message}`);
          return { nodeName: node.name, models: parsed.data.models };
        } catch (error) {
          this.options.log.warn({ nodeId: node.id, path, err: describeFetchError(error) }, `Left node ${node.name} out of ${path}`);
          return null;
        }
      }),
    );
    return mergeByDigest(listings.filter((l): l is NodeListing<TagEntry | PsEntry> => l !== null)) as z.output<S>['models'];
  }
}
