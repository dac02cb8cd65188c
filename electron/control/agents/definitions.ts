import { join } from 'node:path';
import { z } from 'zod';
import type { AgentRole } from '../../../shared/types';
import { readJson } from '../core/json-store';
import type { Logger } from '../core/logger';

/** Ollama `options` values an agent may set (temperature, num_predict, stop, ...). */
export type AgentOptions = Record<string, number | string | boolean | string[]>;

/** One agent: its prompt, the JSON schema sent as Ollama's `format`, and its sampling options. */
export type AgentDefinition = {
  name: string;
  role: AgentRole;
  systemPrompt: string;
  /** JSON schema of the reply, passed to the node as `format`. */
  schema: Record<string, unknown>;
  /** Model that this agent always uses; the turn's model when absent. */
  model?: string;
  options: AgentOptions;
};

export type AgentSet = Record<AgentRole, AgentDefinition>;

export const agentRoles: readonly AgentRole[] = ['researcher', 'critic', 'editor'];

const stringList = { type: 'array', items: { type: 'string' } };

/**
 * Built-in agents. `num_predict` bounds every reply, because a model that never closes its JSON
 * object would otherwise generate until the context is full.
 */
export function defaultAgents(): AgentSet {
  return {
    researcher: {
      name: 'Researcher',
      role: 'researcher',
      systemPrompt:
        'You are the researcher. Collect the key facts and the context needed to answer the ' +
        "user's question. Do not write the final answer. Reply with JSON only.",
      schema: {
        type: 'object',
        properties: { facts: stringList, context: { type: 'string' } },
        required: ['facts', 'context'],
      },
      options: { temperature: 0.3, num_predict: 512 },
    },
    critic: {
      name: 'Critic',
      role: 'critic',
      systemPrompt:
        'You are the critic. Find problems, gaps and risks in answering the question (and in ' +
        'the research notes when given), and recommend how to fix them. Reply with JSON only.',
      schema: {
        type: 'object',
        properties: { problems: stringList, recommendations: stringList },
        required: ['problems', 'recommendations'],
      },
      options: { temperature: 0.3, num_predict: 512 },
    },
    editor: {
      name: 'Editor',
      role: 'editor',
      systemPrompt:
        'You are the editor. Using the research notes and the critique, write the final, ' +
        "polished answer to the user's question. Reply with JSON only.",
      schema: {
        type: 'object',
        properties: { answer: { type: 'string' } },
        required: ['answer'],
      },
      options: { temperature: 0.5, num_predict: 1024 },
    },
  };
}

const optionValueSchema = z.union([z.number(), z.string(), z.boolean(), z.array(z.string())]);

const agentOverrideSchema = z
  .object({
    name: z.string().trim().min(1).max(80),
    systemPrompt: z.string().trim().min(1).max(20_000),
    schema: z.record(z.string(), z.unknown()),
    model: z.string().trim().min(1).max(300),
    options: z.record(z.string(), optionValueSchema),
  })
  .partial()
  .strict();

/** Content of `<dataDir>/agents.json`: per-role overrides merged over the built-in agents. */
export const agentsFileSchema = z
  .object({
    researcher: agentOverrideSchema.optional(),
    critic: agentOverrideSchema.optional(),
    editor: agentOverrideSchema.optional(),
  })
  .strict();

export type AgentsFile = z.infer<typeof agentsFileSchema>;

/** Merges a validated override file over the defaults; `options` merge key by key. */
export function mergeAgents(defaults: AgentSet, file: AgentsFile): AgentSet {
  const merged = { ...defaults };
  for (const role of agentRoles) {
    const override = file[role];
    if (!override) continue;
    const base = defaults[role];
    merged[role] = {
      ...base,
      ...override,
      role,
      options: { ...base.options, ...(override.options ?? {}) },
    };
  }
  return merged;
}

/**
 * Loads the agents from `<dataDir>/agents.json` over the defaults. A missing file means the
 * defaults; an invalid one is logged and left in place, and the defaults are used.
 */
export async function loadAgents(dataDir: string, log: Logger): Promise<AgentSet> {
  const path = join(dataDir, 'agents.json');
  const defaults = defaultAgents();
  try {
    const result = await readJson(path, agentsFileSchema);
    if (result.kind === 'missing') return defaults;
    if (result.kind === 'invalid') {
      log.warn({ path, error: result.message }, 'Ignoring invalid agents file; using default agents');
      return defaults;
    }
    log.info({ path }, 'Loaded agent overrides');
    return mergeAgents(defaults, result.value);
  } catch (error) {
    log.error({ path, err: error }, 'Failed to read agents file; using default agents');
    return defaults;
  }
}
