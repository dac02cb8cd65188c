import { z } from 'zod';

/**
 * Shapes of the bus events the metrics service reads. Only the fields it uses are checked, so
 * producers may add fields; an event that fails its schema is logged and skipped.
 */
export const decisionEvent = z.object({
  id: z.string(),
  at: z.string(),
  endpoint: z.string(),
  model: z.string(),
  nodeId: z.string().nullable(),
  nodeName: z.string().nullable(),
  outcome: z.enum(['ok', 'error', 'cancelled', 'retried', 'not_found', 'unavailable']).optional(),
  latencyMs: z.number().nonnegative().optional(),
  ttftMs: z.number().nonnegative().optional(),
  status: z.number().int().optional(),
  /** Generated tokens: the node's `eval_count`, which the router copies into the finished decision. */
  evalCount: z.number().int().nonnegative().optional(),
  evalDurationNs: z.number().nonnegative().optional(),
});
export type DecisionEvent = z.infer<typeof decisionEvent>;

export const nodeStateEvent = z.object({
  id: z.string(),
  name: z.string(),
  health: z.enum(['unknown', 'up', 'degraded', 'down']),
  loaded: z.array(z.object({ name: z.string(), sizeBytes: z.number(), sizeVramBytes: z.number() })),
});
export type NodeStateEvent = z.infer<typeof nodeStateEvent>;

export const nodeRemovedEvent = z.object({ id: z.string() });

export const breakerEvent = z.object({
  nodeId: z.string(),
  to: z.string().min(1),
  reason: z.string().default(''),
  at: z.string(),
});

export const placementActionEvent = z.object({
  at: z.string(),
  nodeId: z.string(),
  nodeName: z.string(),
  model: z.string(),
  action: z.string(),
  outcome: z.string(),
  placement: z.string().optional(),
  detail: z.string(),
});

export const layersEvent = z.object({
  id: z.string(),
  layers: z.object({
    offloadedLayers: z.number().nullable(),
    totalLayers: z.number().nullable(),
    devices: z.array(
      z.object({
        device: z.string(),
        modelMiB: z.number(),
        kvMiB: z.number(),
        computeMiB: z.number(),
        layerRanges: z.array(z.tuple([z.number(), z.number()])),
      }),
    ),
    offloadedBytes: z.number(),
  }),
});

/** Payload of `distributed:removed`: the id of a distributed model that no longer runs. */
export const distributedRemovedEvent = z.object({ id: z.string() });

/** Payload of `hedge:stats`: the router's cumulative hedge counters. */
export const hedgeStatsEvent = z.object({
  requests: z.number().nonnegative(),
  sent: z.number().nonnegative(),
  won: z.number().nonnegative(),
  cancelled: z.number().nonnegative(),
  skippedByBudget: z.number().nonnegative(),
});
export type HedgeStatsEvent = z.infer<typeof hedgeStatsEvent>;
