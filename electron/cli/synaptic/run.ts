import { findCommandIndex, parseLine, type GlobalFlags } from './command-line';
import { findCommand, helpText } from './commands';
import { runServe } from './commands/serve';
import type { CommandContext, CommandOutput } from './context';
import { CliError, EXIT_FAILURE, EXIT_OK, usageError } from './errors';
import type { Session } from './session';

export type RunOptions = { interactive: boolean; signal: AbortSignal };

/** Runs one command line and returns its exit code. Never throws. */
export async function runCommandLine(args: string[], session: Session, options: RunOptions): Promise<number> {
  let json = args.includes('--json');
  try {
    const output = await dispatch(args, session, options);
    json = output.json !== undefined && json;
    if (json) session.output.out(JSON.stringify(output.json, null, 2));
    else if (output.text !== '') session.output.out(output.text);
    return output.exitCode ?? EXIT_OK;
  } catch (error) {
    const failure =
      error instanceof CliError ? error : new CliError((error as Error)?.message ?? String(error), EXIT_FAILURE, 'internal');
    if (json) session.output.out(JSON.stringify({ error: { code: failure.code, message: failure.message } }, null, 2));
    session.output.err(`synaptic: ${failure.message}`);
    return failure.exitCode;
  }
}

async function dispatch(args: string[], session: Session, options: RunOptions): Promise<CommandOutput> {
  const index = findCommandIndex(args);
  if (index < 0) {
    const { globals } = parseLine(args, {});
    if (globals.help || !options.interactive) return { json: { help: helpText() }, text: helpText() ?? '' };
    throw usageError('no command given; type "help" for the list');
  }
  const name = args[index];
  const rest = [...args.slice(0, index), ...args.slice(index + 1)];

  if (name === 'help') {
    const { positionals } = parseLine(rest, {});
    if (positionals.length > 1) throw usageError(`unexpected argument '${positionals[1]}'; usage: synaptic help [COMMAND]`);
    const text = helpText(positionals[0]);
    if (text === undefined) throw usageError(`unknown command '${positionals[0]}'; run "synaptic help" for the list`);
    return { json: { help: text }, text };
  }

  if (name === 'serve') {
    if (options.interactive) throw usageError('serve runs in the foreground; run "synaptic serve" in another terminal');
    const code = await runServe(args.slice(index + 1));
    return { json: undefined, text: '', exitCode: code };
  }

  const command = findCommand(name);
  if (!command) throw usageError(`unknown command '${name}'; run "synaptic help" for the list`);
  const parsed = parseLine(rest, command.options ?? {});
  if (parsed.globals.help) return { json: { help: helpText(name) }, text: helpText(name) ?? '' };

  const { positionals } = parsed;
  if (positionals.length < command.minArgs) {
    throw usageError(`missing argument for ${name}; usage: synaptic ${command.usage}`);
  }
  if (positionals.length > command.maxArgs) {
    throw usageError(`unexpected argument '${positionals[command.maxArgs]}'; usage: synaptic ${command.usage}`);
  }

  const context: CommandContext = {
    globals: parsed.globals,
    values: parsed.values,
    positionals,
    client: () => session.client(parsed.globals),
    notice: (line) => session.output.err(line),
    interactive: options.interactive,
    signal: options.signal,
  };
  return command.run(context);
}

export type { GlobalFlags };
