import { join } from 'node:path';
import { z } from 'zod';
import type { MetricsPoint, NodeSeries } from '../../../shared/api/metrics';
import { readJson, SerialWriter } from '../core/json-store';
import type { Logger } from '../core/logger';
import { downsample } from './time-bins';

/** Width of the persisted bins, in milliseconds. */
export const PERSISTED_BIN_MS = 15_000;
/** Nodes kept in the file; the ones with the most requests win. */
export const MAX_PERSISTED_NODES = 200;

const pointSchema = z.object({
  t: z.number(),
  spanMs: z.number().positive(),
  requests: z.number().nonnegative(),
  errors: z.number().nonnegative(),
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
  ttftP50Ms: z.number().nullable(),
  tokensPerSec: z.number().nullable(),
  tokens: z.number().nonnegative(),
  hedgesWon: z.number().nonnegative(),
  hedgesCancelled: z.number().nonnegative(),
});

const fileSchema = z.object({
  version: z.literal(1),
  savedAt: z.number(),
  binMs: z.number().positive(),
  nodes: z.array(z.object({ nodeId: z.string(), nodeName: z.string(), points: z.array(pointSchema) })),
});

export type MetricsFile = z.infer<typeof fileSchema>;

/**
 * Reads and writes `<dataDir>/metrics.json`: the live window downsampled to 15-second bins.
 * NOTE: only per-node series are saved. The fleet hedge bins start empty after a restart.
 */
export class MetricsPersistence {
  readonly path: string;
  private readonly writer: SerialWriter;

  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.path = join(dataDir, 'metrics.json');
    this.writer = new SerialWriter(this.path);
  }

  /** Returns the stored series, or none when the file is missing or invalid (logged). */
  async load(): Promise<NodeSeries[]> {
    try {
      const result = await readJson(this.path, fileSchema);
      if (result.kind === 'missing') return [];
      if (result.kind === 'invalid') {
        this.log.warn({ path: this.path, reason: result.message }, 'Ignoring an invalid metrics file');
        return [];
      }
      return result.value.nodes.slice(0, MAX_PERSISTED_NODES);
    } catch (error) {
      this.log.warn({ path: this.path, err: error }, 'Failed to read the metrics file');
      return [];
    }
  }

  async save(series: NodeSeries[], now: number): Promise<void> {
    const file: MetricsFile = { version: 1, savedAt: now, binMs: PERSISTED_BIN_MS, nodes: toPersisted(series) };
    await this.writer.write(file);
  }
}

/** Downsamples each node's points and keeps the busiest MAX_PERSISTED_NODES nodes. */
export function toPersisted(series: NodeSeries[]): NodeSeries[] {
  const total = (points: MetricsPoint[]) => points.reduce((n, p) => n + p.requests, 0);
  return series
    .filter((node) => node.points.length > 0)
    .map((node) => ({ ...node, points: downsample(node.points, PERSISTED_BIN_MS) }))
    .sort((a, b) => total(b.points) - total(a.points))
    .slice(0, MAX_PERSISTED_NODES);
}
