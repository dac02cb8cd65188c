import { z } from 'zod';
import { channel } from './channel';
import type { NodeView } from '../types';

export const nodeIdInput = z.object({ id: z.string().min(1) });

export const addNodeInput = z.object({
  url: z.string().min(1, 'url is required').max(2048, 'url is longer than 2048 characters'),
  name: z.string().min(1).max(80).optional(),
  /** GPU memory in bytes when the user knows it. */
  gpuVramBytes: z.number().int().nonnegative().optional(),
});

/** Strict, so a misspelt or unsupported key is an error instead of a silent no-op. */
export const updateNodeInput = z.strictObject({
  id: z.string().min(1),
  name: z.string().min(1).max(80).optional(),
  gpuVramBytes: z.number().int().nonnegative().nullable().optional(),
});

export const nodesChannels = {
  'nodes:list': channel(z.object({}).optional())<NodeView[]>(),
  'nodes:add': channel(addNodeInput)<NodeView>(),
  'nodes:remove': channel(nodeIdInput)<{ removed: boolean }>(),
  'nodes:update': channel(updateNodeInput)<NodeView>(),
  'nodes:check': channel(nodeIdInput)<NodeView>(),
};
