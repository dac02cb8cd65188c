import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from './errors';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Flags every command accepts. */
export const globalOptions = {
  json: { type: 'boolean' },
  api: { type: 'string' },
  token: { type: 'string' },
  data: { type: 'string' },
  models: { type: 'string' },
  local: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export type GlobalFlags = {
  json: boolean;
  api?: string;
  token?: string;
  data?: string;
  /** GGUF folder of the embedded node of an in-process control plane. */
  models?: string;
  local: boolean;
  help: boolean;
};

export type ParsedLine = {
  globals: GlobalFlags;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
};

/**
 * Parses arguments against the global flags plus one command's flags. Unknown flags and missing
 * flag values raise a usage error that names the flag.
 */
export function parseLine(args: string[], commandOptions: OptionSpec): ParsedLine {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: { ...globalOptions, ...commandOptions },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw usageError(describeParseError(error as Error & { code?: string }));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const globals: GlobalFlags = {
    json: values.json === true,
    api: values.api as string | undefined,
    token: values.token as string | undefined,
    data: values.data as string | undefined,
    models: values.models as string | undefined,
    local: values.local === true,
    help: values.help === true,
  };
  return { globals, values, positionals: parsed.positionals };
}

function describeParseError(error: Error & { code?: string }): string {
  const message = error.message.split('\n')[0];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(message)?.[1] ?? message;
    return `unknown flag '${flag}'; run "synaptic help" for the flags each command takes`;
  }
  return message;
}

/**
 * Finds the command name: the first argument that is neither a flag nor the value of a global
 * string flag. Returns its index, or -1 when there is none.
 */
export function findCommandIndex(args: string[]): number {
  const takesValue = new Set(['--api', '--token', '--data', '--models']);
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === '--') return index + 1 < args.length ? index + 1 : -1;
    if (takesValue.has(arg)) {
      index += 1;
      continue;
    }
    if (!arg.startsWith('-')) return index;
  }
  return -1;
}

/**
 * Splits one line typed at the prompt into arguments, as a POSIX shell does for quotes and
 * backslashes (no variables, globs or pipes).
 */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArgument = false;
  let quote: '"' | "'" | null = null;
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (quote) {
      if (char === quote) quote = null;
      else if (char === '\\' && quote === '"' && index + 1 < line.length) current += line[++index];
      else current += char;
      continue;
    }
    if (char === '"' || char === "'") {
      quote = char;
      inArgument = true;
    } else if (char === '\\' && index + 1 < line.length) {
      current += line[++index];
      inArgument = true;
    } else if (/\s/.test(char)) {
      if (inArgument) args.push(current);
      current = '';
      inArgument = false;
    } else {
      current += char;
      inArgument = true;
    }
  }
  if (quote) throw usageError(`unterminated ${quote === '"' ? 'double' : 'single'} quote`);
  if (inArgument) args.push(current);
  return args;
}

/** Parses an integer flag value within bounds, naming the flag and the value when it is not. */
export function parseIntegerFlag(flag: string, value: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
    throw usageError(`invalid value '${value}' for --${flag}: expected a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

/** Parses `11434,50052` into ports. */
export function parsePortList(flag: string, value: string): number[] {
  const parts = value.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (parts.length === 0) throw usageError(`invalid value '${value}' for --${flag}: expected ports such as 11434,50052`);
  return parts.map((part) => parseIntegerFlag(flag, part, 1, 65535));
}
