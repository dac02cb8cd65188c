import { z } from 'zod';
import { HttpError } from './http';

/**
 * Model options this node validates. All but `num_thread` are applied (threads are set per node);
 * other Ollama options are accepted and ignored.
 */
export const optionsSchema = z
  .object({
    num_predict: z.number().int().min(-2).optional(),
    num_ctx: z.number().int().min(1).max(1_048_576).optional(),
    num_gpu: z.number().int().min(-1).optional(),
    num_thread: z.number().int().min(0).max(1024).optional(),
    temperature: z.number().min(0).optional(),
    top_k: z.number().int().min(0).optional(),
    top_p: z.number().min(0).max(1).optional(),
    min_p: z.number().min(0).max(1).optional(),
    seed: z.number().int().optional(),
    repeat_penalty: z.number().min(0).optional(),
    repeat_last_n: z.number().int().min(-1).optional(),
    presence_penalty: z.number().optional(),
    frequency_penalty: z.number().optional(),
    stop: z.union([z.string(), z.array(z.string())]).optional(),
  })
  .passthrough();

export type ModelOptions = z.infer<typeof optionsSchema>;

const keepAliveSchema = z.union([z.string(), z.number()]).optional();
const formatSchema = z.union([z.literal(''), z.literal('json'), z.record(z.string(), z.unknown())]).optional();
const modelSchema = z.string().optional();

export const messageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string().default(''),
  images: z.array(z.string()).nullable().optional(),
  thinking: z.string().optional(),
  tool_calls: z.array(z.unknown()).optional(),
});

export type ChatMessage = z.infer<typeof messageSchema>;

export const chatRequestSchema = z.object({
  model: modelSchema,
  messages: z.array(messageSchema).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  format: formatSchema,
  options: optionsSchema.nullable().optional(),
  keep_alive: keepAliveSchema,
  tools: z.array(z.unknown()).nullable().optional(),
  think: z.union([z.boolean(), z.string()]).optional(),
  truncate: z.boolean().optional(),
});

export const generateRequestSchema = z.object({
  model: modelSchema,
  prompt: z.string().optional(),
  suffix: z.string().optional(),
  system: z.string().optional(),
  template: z.string().optional(),
  raw: z.boolean().optional(),
  images: z.array(z.string()).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  format: formatSchema,
  options: optionsSchema.nullable().optional(),
  keep_alive: keepAliveSchema,
  context: z.array(z.number().int()).optional(),
  think: z.union([z.boolean(), z.string()]).optional(),
  truncate: z.boolean().optional(),
});

export const embedRequestSchema = z.object({
  model: modelSchema,
  input: z.union([z.string(), z.array(z.string())]).optional(),
  truncate: z.boolean().optional(),
  options: optionsSchema.nullable().optional(),
  keep_alive: keepAliveSchema,
  dimensions: z.number().int().min(1).optional(),
});

export const embeddingsRequestSchema = z.object({
  model: modelSchema,
  prompt: z.string().optional(),
  options: optionsSchema.nullable().optional(),
  keep_alive: keepAliveSchema,
});

export const showRequestSchema = z.object({
  model: z.string().optional(),
  name: z.string().optional(),
  verbose: z.boolean().optional(),
});

/** Validates a request body, turning the first failing field into a 400 that names it. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.join('.');
  throw new HttpError(400, path ? `invalid value for ${path}: ${issue.message}` : issue.message);
}

/** Returns the model name of a request or throws 400 `model is required`. */
export function requireModel(model: string | undefined): string {
  if (model === undefined || model.trim() === '') throw new HttpError(400, 'model is required');
  return model;
}
