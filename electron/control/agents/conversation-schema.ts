import { z } from 'zod';
import type { Conversation } from '../../../shared/types';

/** Conversation ids are generated UUIDs. This pattern keeps any other id from naming a path. */
export const conversationIdPattern = /^[A-Za-z0-9_-]{1,100}$/;

const count = z.number().int().nonnegative();

const stepSchema = z.object({
  id: z.string().min(1),
  agent: z.string().min(1),
  status: z.enum(['pending', 'running', 'done', 'error']),
  nodeId: z.string().optional(),
  nodeName: z.string().optional(),
  model: z.string(),
  text: z.string(),
  output: z.unknown().optional(),
  raw: z.boolean(),
  retried: z.boolean(),
  latencyMs: z.number().nonnegative().optional(),
  promptTokens: count.optional(),
  completionTokens: count.optional(),
  error: z.string().optional(),
});

const turnSchema = z.object({
  id: z.string().min(1),
  question: z.string(),
  model: z.string(),
  mode: z.enum(['pipeline', 'parallel']),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  steps: z.array(stepSchema),
  answer: z.string().optional(),
  status: z.enum(['running', 'done', 'error']),
});

/** A conversation file as stored in `<dataDir>/conversations/<id>.json`. */
export const conversationSchema: z.ZodType<Conversation> = z.object({
  id: z.string().regex(conversationIdPattern),
  title: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  turns: z.array(turnSchema),
});
