import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface, type Completer } from 'node:readline';
import { globalOptions, splitCommandLine } from './command-line';
import { commands, findCommand } from './commands';
import { CliError } from './errors';
import { runCommandLine } from './run';
import type { Session } from './session';

/** Lines of history kept in the data folder between sessions. */
export const HISTORY_LIMIT = 500;

const EXIT_WORDS = ['exit', 'quit'];

/** Completes command names, then subcommands and flags of the command being typed. */
export const completeLine: Completer = (line) => {
  const words = line.split(/\s+/);
  const current = words[words.length - 1] ?? '';
  let candidates: string[];
  if (words.length <= 1) {
    candidates = [...commands.map((command) => command.name), 'help', ...EXIT_WORDS];
  } else {
    const command = findCommand(words[0]);
    if (current.startsWith('-')) {
      const flags = { ...globalOptions, ...(command?.options ?? {}) };
      candidates = Object.keys(flags).map((flag) => `--${flag}`);
    } else if (words.length === 2 && words[0] === 'help') {
      candidates = ['serve', ...commands.map((entry) => entry.name)];
    } else if (words.length === 2 && command?.subcommands) {
      candidates = command.subcommands;
    } else {
      candidates = [];
    }
  }
  const hits = candidates.filter((candidate) => candidate.startsWith(current)).sort();
  return [hits.map((hit) => `${hit} `), current];
};

export async function loadHistory(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length > HISTORY_LIMIT * 2) {
    await writeFile(path, lines.slice(-HISTORY_LIMIT).join('\n') + '\n', { mode: 0o600 });
  }
  return lines.slice(-HISTORY_LIMIT);
}

/**
 * Reads commands from `input` until end of input or `exit`, running each through the session.
 * History is loaded from and appended to `historyPath`. Ctrl-C cancels the running command, or
 * clears the line when none runs.
 */
export async function runPrompt(
  session: Session,
  historyPath: string,
  input: NodeJS.ReadableStream & { isTTY?: boolean },
  output: NodeJS.WritableStream,
): Promise<number> {
  const history = await loadHistory(historyPath).catch((error: Error) => {
    session.output.err(`synaptic: reading history ${historyPath} failed: ${error.message}`);
    return [];
  });
  await mkdir(dirname(historyPath), { recursive: true });

  const terminal = input.isTTY === true;
  const rl = createInterface({
    input,
    output,
    prompt: 'synaptic> ',
    completer: completeLine,
    terminal,
    history: [...history].reverse(),
    historySize: HISTORY_LIMIT,
  });
  let running: AbortController | null = null;
  rl.on('SIGINT', () => {
    if (running) {
      running.abort();
      return;
    }
    rl.write(null, { ctrl: true, name: 'u' });
    output.write('\n');
    rl.prompt();
  });

  let lastCode = 0;
  rl.prompt();
  for await (const rawLine of rl) {
    const line = rawLine.trim();
    if (line === '') {
      rl.prompt();
      continue;
    }
    if (EXIT_WORDS.includes(line)) break;
    await appendFile(historyPath, line.replace(/\n/g, ' ') + '\n', { mode: 0o600 }).catch((error: Error) =>
      session.output.err(`synaptic: saving history failed: ${error.message}`),
    );

    let args: string[];
    try {
      args = splitCommandLine(line);
    } catch (error) {
      session.output.err(`synaptic: ${(error as CliError).message}`);
      lastCode = (error as CliError).exitCode ?? 2;
      rl.prompt();
      continue;
    }
    running = new AbortController();
    lastCode = await runCommandLine(args, session, { interactive: true, signal: running.signal });
    running = null;
    rl.prompt();
  }
  rl.close();
  return lastCode;
}
