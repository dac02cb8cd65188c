import type { CommandSpec } from '../context';
import { benchCommand } from './bench';
import { chatCommand } from './chat';
import { discoverCommand } from './discover';
import { distributedCommand, rpcCommand } from './distributed';
import { addCommand, healthCommand, metricsCommand, nodesCommand, removeCommand } from './fleet';

/** Commands that talk to the control plane. `serve` and `help` are handled by the runner. */
export const commands: CommandSpec[] = [
  chatCommand,
  nodesCommand,
  addCommand,
  removeCommand,
  discoverCommand,
  healthCommand,
  metricsCommand,
  rpcCommand,
  distributedCommand,
  benchCommand,
];

export function findCommand(name: string): CommandSpec | undefined {
  return commands.find((command) => command.name === name);
}

export const GLOBAL_HELP = [
  'Global flags:',
  '  --json           print JSON for scripts instead of text',
  '  --api URL        control plane to use (default SYNAPTIC_API or http://127.0.0.1:8765)',
  '  --token TOKEN    token for that control plane (default SYNAPTIC_TOKEN)',
  '  --data DIR       data folder when the control plane runs in this process (default SYNAPTIC_DATA, else the folder serve uses)',
  '  --models DIR     GGUF folder of the embedded node when the control plane runs in this process (default DATA/models)',
  '  --local          skip --api and run the control plane in this process',
  '',
  'Exit codes: 0 success, 1 failure, 2 invalid command line.',
];

/** Text for `synaptic help` and `synaptic help COMMAND`. */
export function helpText(name?: string): string | undefined {
  if (name !== undefined) {
    if (name === 'serve') {
      return 'synaptic serve [FLAGS]\n  Run the control plane headless: the Ollama gateway and the UI server. Flags go to serve unchanged.';
    }
    if (name === 'help') return 'synaptic help [COMMAND]\n  Show all commands, or one command and its flags.';
    const command = findCommand(name);
    if (!command) return undefined;
    return [`synaptic ${command.usage}`, `  ${command.summary}`, ...(command.details ?? []).map((line) => `  ${line}`)].join('\n');
  }
  const width = Math.max(...commands.map((command) => command.name.length), 5) + 2;
  return [
    'synaptic: control the SynapticLlamas fleet from a terminal.',
    'With no command it opens an interactive prompt.',
    '',
    'Commands:',
    `  ${'serve'.padEnd(width)}Run the control plane headless (gateway and UI server)`,
    ...commands.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    `  ${'help'.padEnd(width)}Show help for all commands or one`,
    '',
    ...GLOBAL_HELP,
    '',
    'Run "synaptic help COMMAND" for a command\'s arguments and flags.',
  ].join('\n');
}
