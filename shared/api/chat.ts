import { z } from 'zod';
import { channel } from './channel';
import type { Conversation } from '../types';

export const agentModeSchema = z.enum(['pipeline', 'parallel']);

export const sendInput = z.object({
  question: z.string().trim().min(1, 'question is required').max(100_000),
  model: z.string().min(1, 'model is required'),
  mode: agentModeSchema.default('pipeline'),
  /** Continue this conversation; a new one is created when absent. */
  conversationId: z.string().min(1).optional(),
  priority: z.number().int().min(1).max(10).optional(),
});

export type AgentDefinitionView = {
  name: string;
  role: string;
  systemPrompt: string;
  model?: string;
  options: Record<string, unknown>;
  schema: unknown;
};

export const chatChannels = {
  /** Starts a turn and resolves once it is finished; progress arrives as `agent:progress` events. */
  'chat:send': channel(sendInput)<{ conversationId: string; turnId: string; answer: string | null }>(),
  'chat:list': channel(z.object({}).optional())<Conversation[]>(),
  'chat:get': channel(z.object({ id: z.string().min(1) }))<Conversation>(),
  'chat:delete': channel(z.object({ id: z.string().min(1) }))<{ deleted: boolean }>(),
  'agents:list': channel(z.object({}).optional())<AgentDefinitionView[]>(),
};
