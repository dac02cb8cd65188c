import { z } from 'zod';
import { channel } from './channel';
import type { BreakerStateName, HedgeStats, PlacementAction } from '../types';

export const routingStrategies = ['intelligent', 'round_robin', 'least_loaded', 'fastest', 'random'] as const;
export type RoutingStrategy = (typeof routingStrategies)[number];

const prewarmPair = z.object({
  model: z.string().min(1, 'model is required'),
  nodeIds: z.array(z.string().min(1)).min(1, 'nodeIds must list at least one node id'),
});

/** Routing settings as stored in `<dataDir>/routing.json`; every field has a default. */
export const routingSettingsSchema = z.object({
  strategy: z.enum(routingStrategies).default('intelligent'),
  /** Hedge every routed request; a request can also ask with `X-Synaptic-Hedge: 1`. */
  hedging: z.boolean().default(false),
  /** Run the GPU placement controller after requests and health passes. */
  controller: z.boolean().default(true),
  /** Models loaded on the listed nodes at start and when a node recovers. */
  prewarm: z.array(prewarmPair).default([]),
  /** Requests each node generates at once (OLLAMA_NUM_PARALLEL), by node id; 1 when unset. */
  nodeParallel: z.record(z.string(), z.number().int().min(1).max(256)).default({}),
});
export type RoutingSettings = z.output<typeof routingSettingsSchema>;

/** A partial update; fields left out keep their value. */
export const routingSettingsUpdate = z.object({
  strategy: z.enum(routingStrategies).optional(),
  hedging: z.boolean().optional(),
  controller: z.boolean().optional(),
  prewarm: z.array(prewarmPair).optional(),
  nodeParallel: z.record(z.string(), z.number().int().min(1).max(256)).optional(),
});

export type LearnedEntry = {
  nodeId: string;
  model: string;
  taskType: string;
  ttftMs: number;
  tokensPerSec: number;
  latencyMs: number;
  successRate: number;
  samples: number;
};

export type RoutingStats = {
  strategy: RoutingStrategy;
  hedges: HedgeStats;
  breakers: Array<{ nodeId: string; state: BreakerStateName }>;
  /** Most recent placement controller actions, newest last. */
  placementActions: PlacementAction[];
  learned: LearnedEntry[];
};

export const routingChannels = {
  'routing:settings': channel(z.object({}).optional())<RoutingSettings>(),
  'routing:set': channel(routingSettingsUpdate)<RoutingSettings>(),
  'routing:stats': channel(z.object({}).optional())<RoutingStats>(),
};
