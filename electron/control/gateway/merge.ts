import type { PsEntry, TagEntry } from '../nodes/ollama-schemas';

/** One node's response to `/api/tags` or `/api/ps`. */
export type NodeListing<T> = { nodeName: string; models: T[] };

/** Name of the gateway's extension field that lists the nodes holding a model. */
export const nodesField = 'synaptic_nodes';

type Merged<T> = T & { [nodesField]: string[] };

/**
 * Merges per-node model lists into one, with one entry per distinct name and digest. The first
 * node's entry wins, and `synaptic_nodes` lists every node that has it, in fleet order.
 */
export function mergeByDigest<T extends TagEntry | PsEntry>(listings: NodeListing<T>[]): Merged<T>[] {
  const byKey = new Map<string, Merged<T>>();
  for (const listing of listings) {
    for (const entry of listing.models) {
      // A copy (`ollama cp`) shares its source's digest, so the name is part of the key too.
      const key = `${entry.digest}|${entry.name.toLowerCase()}`;
      const found = byKey.get(key);
      if (found) {
        if (!found[nodesField].includes(listing.nodeName)) found[nodesField].push(listing.nodeName);
        continue;
      }
      byKey.set(key, { ...entry, model: entry.model ?? entry.name, [nodesField]: [listing.nodeName] } as unknown as Merged<T>);
    }
  }
  return [...byKey.values()];
}

/** Returns the lowest version by numeric `major.minor.patch` comparison, or undefined for none. */
export function lowestVersion(versions: readonly string[]): string | undefined {
  let lowest: string | undefined;
  for (const version of versions) {
    if (lowest === undefined || compareVersions(version, lowest) < 0) lowest = version;
  }
  return lowest;
}

export function compareVersions(a: string, b: string): number {
  const partsA = numericParts(a);
  const partsB = numericParts(b);
  for (let i = 0; i < Math.max(partsA.length, partsB.length); i++) {
    const diff = (partsA[i] ?? 0) - (partsB[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function numericParts(version: string): number[] {
  const core = version.replace(/^v/, '').split(/[-+]/)[0];
  return core.split('.').map((part) => Number.parseInt(part, 10) || 0);
}

/** Converts merged tags to the OpenAI `/v1/models` list, as Ollama's compatibility layer does. */
export function toOpenAiModels(models: TagEntry[]): { object: 'list'; data: unknown[] } {
  return {
    object: 'list',
    data: models.map((model) => ({
      id: model.name,
      object: 'model',
      created: model.modified_at ? Math.floor(Date.parse(model.modified_at) / 1000) || 0 : 0,
      owned_by: ownerOf(model.name),
    })),
  };
}

function ownerOf(name: string): string {
  const path = name.split(':')[0];
  const parts = path.split('/');
  return parts.length >= 2 ? parts[parts.length - 2] : 'library';
}
