import { ErrorCodes } from '../../../shared/result';
import type { ApiClient } from './client';
import type { GlobalFlags, OptionSpec } from './command-line';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './errors';

export type CommandContext = {
  globals: GlobalFlags;
  values: Record<string, string | boolean | undefined>;
  /** Arguments after the command name. */
  positionals: string[];
  /** Connects on first use and reuses the connection afterwards. */
  client(): Promise<ApiClient>;
  /** Progress lines for people; written to stderr so `--json` output stays parseable. */
  notice(line: string): void;
  interactive: boolean;
  /** Aborts on Ctrl-C while a long command runs. */
  signal: AbortSignal;
};

/** Result of a command: `text` for people, `json` printed instead with `--json`. */
export type CommandOutput = { json: unknown; text: string; exitCode?: number };

export type CommandSpec = {
  name: string;
  usage: string;
  summary: string;
  /** Lines of help after the usage line: flags and their units. */
  details?: string[];
  options?: OptionSpec;
  /** Words completed after the command name at the prompt. */
  subcommands?: string[];
  minArgs: number;
  maxArgs: number;
  run(context: CommandContext): Promise<CommandOutput>;
};

/** Calls a channel and returns its value; an error result becomes a CliError with its message. */
export async function call<T>(context: CommandContext, channel: string, args?: unknown): Promise<T> {
  const client = await context.client();
  const result = await client.invoke(channel, args);
  if (result.ok) return result.value as T;
  const exitCode = result.error.code === ErrorCodes.invalidArgument ? EXIT_USAGE : EXIT_FAILURE;
  if (result.error.code === ErrorCodes.unknownChannel || result.error.message.includes('has no handler')) {
    throw new CliError(`${result.error.message}; this control plane does not offer '${channel}'`, EXIT_FAILURE, result.error.code);
  }
  throw new CliError(result.error.message, exitCode, result.error.code);
}

export function stringFlag(context: CommandContext, name: string): string | undefined {
  const value = context.values[name];
  return typeof value === 'string' ? value : undefined;
}
