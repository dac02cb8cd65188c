/**
 * Runs one embedded node standalone:
 *   npm run node -- [--host 127.0.0.1] --port P --models DIR [--parallel N] [--threads N]
 *                   [--num-ctx N] [--no-ollama-store]
 * Stops on SIGINT or SIGTERM. Invalid flags exit with code 2.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createRootLogger } from '../control/core/logger';
import { startEmbeddedNode, type EmbeddedNodeOptions } from '../control/embedded';

const USAGE = `Usage: npm run node -- [options]
  --host ADDR          address to bind (default 127.0.0.1)
  --port P             TCP port, 0 picks a free one (default 11434)
  --models DIR         folder whose *.gguf files are served as NAME:latest
  --parallel N         generations that run at once per model (default 1)
  --threads N          CPU threads per context (default: half the math cores)
  --num-ctx N          context size in tokens when a request sets none (default 2048)
  --no-ollama-store    do not serve models of the local Ollama store
  --help               show this help`;

class UsageError extends Error {}

function parseArgs(argv: string[]): EmbeddedNodeOptions & { help?: boolean } {
  const options: EmbeddedNodeOptions & { help?: boolean } = { host: '127.0.0.1', port: 11434 };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const next = (): string => {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`missing value for ${flag}`);
      i += 1;
      return value;
    };
    switch (flag) {
      case '--host':
        options.host = next();
        break;
      case '--port':
        options.port = integerFlag(flag, next(), 0, 65535);
        break;
      case '--models':
        options.modelsDir = resolve(next());
        break;
      case '--parallel':
        options.parallel = integerFlag(flag, next(), 1, 256);
        break;
      case '--threads':
        options.threads = integerFlag(flag, next(), 1, 1024);
        break;
      case '--num-ctx':
        options.defaultNumCtx = integerFlag(flag, next(), 1, 1_048_576);
        break;
      case '--no-ollama-store':
        options.ollamaStoreDirs = false;
        break;
      case '--help':
      case '-h':
        options.help = true;
        break;
      default:
        throw new UsageError(`unknown flag "${flag}"`);
    }
  }
  return options;
}

function integerFlag(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`invalid value "${text}" for ${flag}: expected an integer from ${min} to ${max}`);
  }
  return value;
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parseArgs>;
  try {
    options = parseArgs(process.argv.slice(2));
    if (options.modelsDir) {
      const info = await stat(options.modelsDir).catch(() => null);
      if (!info?.isDirectory()) throw new UsageError(`invalid value "${options.modelsDir}" for --models: not a directory`);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`error: ${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  const log = createRootLogger().child({ component: 'embedded' });
  const node = await startEmbeddedNode({ ...options, log });
  process.stdout.write(`Embedded Ollama node listening on ${node.url}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'Stopping embedded node');
    node.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'Failed to stop embedded node cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
