import { z } from 'zod';
import type { NodeFailure } from './node-failures';

/** One NDJSON line of Ollama's `/api/pull` stream. Unknown keys are kept out of the merged stream. */
export const pullLineSchema = z.object({
  status: z.string().optional(),
  digest: z.string().optional(),
  total: z.number().nonnegative().optional(),
  completed: z.number().nonnegative().optional(),
  error: z.string().optional(),
});

export type PullLine = z.output<typeof pullLineSchema>;

type LayerProgress = {
  /** Size of the layer on one node; the same digest has the same size everywhere. */
  total: number;
  completedByNode: Map<string, number>;
  sentCompleted: number;
};

/**
 * Merges the `/api/pull` streams of several nodes into one stream in Ollama's shape. Progress for
 * a digest sums `total` and `completed` over every node pulling it, counting `total` for every
 * node from the first line on, so `completed` only grows and the client's bar for the digest
 * never runs backwards. Other status lines pass once. `success` is never passed: the caller
 * sends it when every node has succeeded.
 */
export class PullProgress {
  private readonly layers = new Map<string, LayerProgress>();
  private readonly sentStatuses = new Set<string>();
  private readonly succeededNodes = new Set<string>();
  private readonly failedNodes = new Map<string, NodeFailure>();

  constructor(private readonly nodes: readonly string[]) {}

  /** Records one line from `node` and returns the lines to send to the client. */
  accept(node: string, line: PullLine): PullLine[] {
    if (this.isSettled(node)) return [];
    if (line.error !== undefined) {
      this.fail(node, line.error);
      return [];
    }
    if (line.digest !== undefined) return [this.progress(node, line.digest, line)];
    if (line.status === 'success') {
      this.succeed(node);
      return [];
    }
    if (line.status === undefined || this.sentStatuses.has(line.status)) return [];
    this.sentStatuses.add(line.status);
    return [{ status: line.status }];
  }

  succeed(node: string): void {
    if (!this.isSettled(node)) this.succeededNodes.add(node);
  }

  /** Records that `node` failed; a later line or failure from it is ignored. */
  fail(node: string, error: string, status?: number): void {
    if (!this.isSettled(node)) this.failedNodes.set(node, { node, error, status });
  }

  /** True once every node has succeeded or failed. */
  done(): boolean {
    return this.nodes.every((node) => this.isSettled(node));
  }

  succeeded(): string[] {
    return this.nodes.filter((node) => this.succeededNodes.has(node));
  }

  failures(): NodeFailure[] {
    return this.nodes.flatMap((node) => this.failedNodes.get(node) ?? []);
  }

  /** Nodes that have neither succeeded nor failed yet. */
  pending(): string[] {
    return this.nodes.filter((node) => !this.isSettled(node));
  }

  private isSettled(node: string): boolean {
    return this.succeededNodes.has(node) || this.failedNodes.has(node);
  }

  private progress(node: string, digest: string, line: PullLine): PullLine {
    let layer = this.layers.get(digest);
    if (!layer) {
      layer = { total: 0, completedByNode: new Map(), sentCompleted: 0 };
      this.layers.set(digest, layer);
    }
    layer.total = Math.max(layer.total, line.total ?? 0);
    if (line.completed !== undefined) {
      layer.completedByNode.set(node, Math.max(layer.completedByNode.get(node) ?? 0, line.completed));
    }

    const status = line.status ?? `pulling ${digest.replace(/^sha256:/, '').slice(0, 12)}`;
    const merged: PullLine = { status, digest, total: layer.total * this.nodes.length };
    if (layer.completedByNode.size > 0) {
      let completed = 0;
      for (const value of layer.completedByNode.values()) completed += value;
      layer.sentCompleted = Math.max(layer.sentCompleted, completed);
      merged.completed = layer.sentCompleted;
    }
    return merged;
  }
}
