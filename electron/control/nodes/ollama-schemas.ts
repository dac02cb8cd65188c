import { z } from 'zod';

/** Zod schemas for the parts of Ollama's JSON that the control plane reads from a node. */

/**
 * Ollama's `/api/version`. A SynapticLlamas node also sends `synaptic_node` with its kind, which
 * Ollama clients ignore, so the control plane can tell a standalone embedded node from Ollama.
 */
export const versionResponse = z.object({ version: z.string().min(1), synaptic_node: z.string().max(40).optional() });

const details = z
  .looseObject({
    format: z.string().optional(),
    family: z.string().optional(),
    families: z.array(z.string()).nullable().optional(),
    parameter_size: z.string().optional(),
    quantization_level: z.string().optional(),
  })
  .nullable()
  .optional();

export const tagEntry = z.looseObject({
  name: z.string().min(1),
  model: z.string().optional(),
  modified_at: z.string().optional(),
  size: z.number().nonnegative(),
  digest: z.string(),
  details,
});

export const tagsResponse = z.object({
  models: z
    .array(tagEntry)
    .nullable()
    .transform((models) => models ?? []),
});

export const psEntry = z.looseObject({
  name: z.string().min(1),
  model: z.string().optional(),
  size: z.number().nonnegative(),
  digest: z.string(),
  details,
  expires_at: z.string().optional(),
  size_vram: z.number().nonnegative().optional(),
  context_length: z.number().int().nonnegative().optional(),
});

export const psResponse = z.object({
  models: z
    .array(psEntry)
    .nullable()
    .transform((models) => models ?? []),
});

export type TagEntry = z.output<typeof tagEntry>;
export type PsEntry = z.output<typeof psEntry>;
