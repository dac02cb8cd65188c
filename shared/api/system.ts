import { z } from 'zod';
import { channel } from './channel';
import type { GatewayStatus, LiveFigures, RouteDecision } from '../types';

export type ModelSummary = { name: string; nodes: string[]; loadedOn: string[] };

export type SystemInfo = {
  version: string;
  dataDir: string;
  gateway: GatewayStatus;
  runtime: 'electron' | 'node';
  nodeVersion: string;
};

export const systemChannels = {
  'system:info': channel(z.object({}).optional())<SystemInfo>(),
  'models:list': channel(z.object({}).optional())<ModelSummary[]>(),
  'router:decisions': channel(
    z.object({ limit: z.number().int().min(1).max(1000).default(100) }).optional(),
  )<RouteDecision[]>(),
  'stats:figures': channel(z.object({}).optional())<LiveFigures>(),
};
