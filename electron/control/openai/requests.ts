import { z } from 'zod';
import { OpenAiError } from './errors';

/** OpenAI request bodies, validated at the boundary, and their translation to Ollama requests. */

const textPartSchema = z.object({ type: z.literal('text'), text: z.string() });
const imagePartSchema = z.object({
  type: z.literal('image_url'),
  image_url: z.union([z.string(), z.object({ url: z.string() })]),
});
const contentSchema = z.union([z.string(), z.array(z.union([textPartSchema, imagePartSchema]))]).nullable().optional();

const toolCallSchema = z.object({
  id: z.string().optional(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string(), arguments: z.string().default('{}') }),
});

const messageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: contentSchema,
  name: z.string().optional(),
  tool_calls: z.array(toolCallSchema).optional(),
  tool_call_id: z.string().optional(),
});

const stopSchema = z.union([z.string(), z.array(z.string())]).nullable().optional();

const responseFormatSchema = z
  .union([
    z.object({ type: z.literal('text') }),
    z.object({ type: z.literal('json_object') }),
    z.object({
      type: z.literal('json_schema'),
      json_schema: z.object({ name: z.string().optional(), schema: z.record(z.string(), z.unknown()) }),
    }),
  ])
  .nullable()
  .optional();

/** Sampling fields shared by chat and text completions. */
const samplingShape = {
  model: z.string().min(1, 'model is required'),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  stop: stopSchema,
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  n: z.literal(1, { message: 'only n = 1 is supported' }).nullable().optional(),
};

export const chatCompletionRequestSchema = z.object({
  ...samplingShape,
  messages: z.array(messageSchema).min(1, 'messages must contain at least one message'),
  max_completion_tokens: z.number().int().min(1).nullable().optional(),
  response_format: responseFormatSchema,
  tools: z.array(z.unknown()).nullable().optional(),
});

export const completionRequestSchema = z.object({
  ...samplingShape,
  prompt: z.string({ message: 'prompt must be a string' }),
  suffix: z.string().nullable().optional(),
});

export const embeddingRequestSchema = z.object({
  model: z.string().min(1, 'model is required'),
  input: z.union([z.string(), z.array(z.string())], { message: 'input must be a string or an array of strings' }),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().min(1).optional(),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type CompletionRequest = z.infer<typeof completionRequestSchema>;
export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>;

/** Validates a body, turning the first failing field into a 400 that names it. */
export function parseOpenAiBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.join('.');
  throw new OpenAiError(400, path ? `invalid value for ${path}: ${issue.message}` : issue.message, path || null);
}

type Sampling = Pick<
  ChatCompletionRequest,
  'max_tokens' | 'temperature' | 'top_p' | 'seed' | 'stop' | 'frequency_penalty' | 'presence_penalty'
>;

/** Maps OpenAI sampling fields to Ollama `options`; unset fields keep the model's defaults. */
export function ollamaOptionsFor(request: Sampling, maxTokens = request.max_tokens): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (maxTokens != null) options.num_predict = maxTokens;
  if (request.temperature != null) options.temperature = request.temperature;
  if (request.top_p != null) options.top_p = request.top_p;
  if (request.seed != null) options.seed = request.seed;
  if (request.frequency_penalty != null) options.frequency_penalty = request.frequency_penalty;
  if (request.presence_penalty != null) options.presence_penalty = request.presence_penalty;
  if (request.stop != null) options.stop = Array.isArray(request.stop) ? request.stop : [request.stop];
  return options;
}

/** Builds the `/api/chat` body for a chat completion. */
export function toOllamaChat(request: ChatCompletionRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: request.model,
    messages: request.messages.map(toOllamaMessage),
    stream: request.stream === true,
    options: ollamaOptionsFor(request, request.max_completion_tokens ?? request.max_tokens),
  };
  const format = formatFor(request.response_format);
  if (format !== undefined) body.format = format;
  if (request.tools && request.tools.length > 0) body.tools = request.tools;
  return body;
}

/** Builds the `/api/generate` body for a text completion. */
export function toOllamaGenerate(request: CompletionRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: request.model,
    prompt: request.prompt,
    stream: request.stream === true,
    options: ollamaOptionsFor(request),
  };
  if (request.suffix) body.suffix = request.suffix;
  return body;
}

/** Builds the `/api/embed` body for an embeddings request. */
export function toOllamaEmbed(request: EmbeddingRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { model: request.model, input: request.input };
  if (request.dimensions !== undefined) body.dimensions = request.dimensions;
  return body;
}

function formatFor(format: ChatCompletionRequest['response_format']): string | Record<string, unknown> | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return 'json';
  return format.json_schema.schema;
}

function toOllamaMessage(message: z.infer<typeof messageSchema>, index: number): Record<string, unknown> {
  const role = message.role === 'developer' ? 'system' : message.role;
  const out: Record<string, unknown> = { role, content: '' };
  const content = message.content;
  if (typeof content === 'string') {
    out.content = content;
  } else if (Array.isArray(content)) {
    const texts: string[] = [];
    const images: string[] = [];
    for (const part of content) {
      if (part.type === 'text') texts.push(part.text);
      else images.push(imageData(typeof part.image_url === 'string' ? part.image_url : part.image_url.url, index));
    }
    out.content = texts.join('\n');
    if (images.length > 0) out.images = images;
  }
  if (message.tool_calls && message.tool_calls.length > 0) {
    out.tool_calls = message.tool_calls.map((call, callIndex) => ({
      function: { name: call.function.name, arguments: parseArguments(call.function.arguments, index, callIndex) },
    }));
  }
  if (message.role === 'tool' && message.name) out.tool_name = message.name;
  return out;
}

/** Returns the base64 payload of a `data:` image URL; other URLs are rejected as Ollama does. */
function imageData(url: string, index: number): string {
  const match = /^data:image\/[a-z0-9.+-]+;base64,(.+)$/i.exec(url);
  if (!match) {
    throw new OpenAiError(400, `invalid image URL in messages.${index}: only base64 data URLs are supported`, `messages.${index}.content`);
  }
  return match[1];
}

function parseArguments(text: string, index: number, callIndex: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const param = `messages.${index}.tool_calls.${callIndex}.function.arguments`;
    throw new OpenAiError(400, `invalid value for ${param}: arguments must be a JSON object string`, param);
  }
}
