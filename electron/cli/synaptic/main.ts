import { join } from 'node:path';
import { dataDirOf } from './client';
import { findCommandIndex, parseLine } from './command-line';
import { CliError } from './errors';
import { runPrompt } from './prompt';
import { runCommandLine } from './run';
import { Session, type Output } from './session';

const stdio: Output = {
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
};

/**
 * Entry point of the `synaptic` command. Runs one command, or the interactive prompt when no
 * command is given, and resolves with the exit code.
 */
export async function main(args: string[]): Promise<number> {
  let startFlags;
  const commandIndex = findCommandIndex(args);
  try {
    startFlags = parseLine(commandIndex < 0 ? args : args.slice(0, commandIndex), {}).globals;
  } catch (error) {
    stdio.err(`synaptic: ${(error as CliError).message}`);
    return (error as CliError).exitCode ?? 2;
  }
  const session = new Session(startFlags, stdio);

  try {
    if (commandIndex < 0 && !startFlags.help) {
      const historyPath = join(await dataDirOf(startFlags), 'cli-history');
      return await runPrompt(session, historyPath, process.stdin, process.stdout);
    }
    const controller = new AbortController();
    let interrupts = 0;
    const onInterrupt = () => {
      interrupts += 1;
      if (interrupts > 1) process.exit(130);
      stdio.err('Cancelling; press Ctrl-C again to quit at once.');
      controller.abort();
    };
    process.on('SIGINT', onInterrupt);
    try {
      return await runCommandLine(args, session, { interactive: false, signal: controller.signal });
    } finally {
      process.off('SIGINT', onInterrupt);
    }
  } finally {
    await session.close().catch((error: Error) => stdio.err(`synaptic: stopping the control plane failed: ${error.message}`));
  }
}
