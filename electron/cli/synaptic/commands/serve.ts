import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CliError } from '../errors';

/**
 * Runs `electron/cli/serve.ts` (the headless control plane) in a child Node process with the
 * tsx loader, passing the arguments through, and resolves with its exit code. Ctrl-C reaches
 * the child through the terminal's process group, so it shuts down on its own.
 */
export function runServe(args: string[]): Promise<number> {
  const here = dirname(fileURLToPath(import.meta.url));
  const entry = join(here, '..', '..', 'serve.ts');
  if (!existsSync(entry)) throw new CliError(`cannot serve: ${entry} is missing from this build`);
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', loader, entry, ...args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGTERM', forward);
  return new Promise((resolve, reject) => {
    child.once('error', (error) => reject(new CliError(`starting serve failed: ${error.message}`)));
    child.once('exit', (code, signal) => {
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}
