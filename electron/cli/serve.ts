import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createRootLogger, type Logger } from '../control/core/logger';
import { parseEndpoint } from '../control/llamacpp/flags';
import { isLoopbackHost } from '../control/nodes/node-url';
import { ControlPlane } from '../control/plane';
import { startUiServer, type UiServer } from '../control/ui-server';

export type ServeOptions = {
  host: string;
  port: number;
  fallbackPort?: number;
  uiPort: number;
  modelsDir?: string;
  dataDir: string;
  embedded?: boolean;
  token?: string;
  /** llama.cpp RPC backends as host:port. */
  rpc: string[];
  /** Model served by llama-server across the RPC backends. */
  distributed?: string;
};

export type FlagParse = { ok: true; options: ServeOptions } | { ok: false; message: string } | { ok: 'help' };

export const usage = `Usage: npm run serve -- [options]

  --host ADDRESS        interface for the gateway and UI (default 127.0.0.1); any other
                        than loopback requires a token, which is generated and printed
  --port PORT           gateway port (default 11434, Ollama's)
  --fallback-port PORT  gateway port when --port is in use (default 11435 when --port
                        is 11434; with any other --port there is no fallback unless given)
  --ui-port PORT        port of the web UI (default 8765)
  --models DIR          folder of GGUF files served by the embedded node
  --no-embedded         never start the embedded node
  --data DIR            state folder (default: the platform's app-data folder)
  --rpc HOST:PORT,...   llama.cpp ggml-rpc-server backends to add and check
  --distributed MODEL   serve MODEL (a name from --models or the Ollama store, or a .gguf
                        path) with llama-server split across the --rpc backends (or all saved ones)
  -h, --help            show this help

Environment: SYNAPTIC_TOKEN sets the bearer token instead of generating one.`;

/** Parses the command line; every failure names the flag and the value. */
export function parseServeFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): FlagParse {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'fallback-port': { type: 'string' },
        'ui-port': { type: 'string' },
        models: { type: 'string' },
        'no-embedded': { type: 'boolean' },
        data: { type: 'string' },
        rpc: { type: 'string' },
        distributed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
  if (values.help) return { ok: 'help' };

  const port = parsePort('--port', values.port, 11434);
  if (typeof port === 'string') return { ok: false, message: port };
  const uiPort = parsePort('--ui-port', values['ui-port'], 8765);
  if (typeof uiPort === 'string') return { ok: false, message: uiPort };
  const fallbackPort = values['fallback-port'] === undefined ? undefined : parsePort('--fallback-port', values['fallback-port'], 0);
  if (typeof fallbackPort === 'string') return { ok: false, message: fallbackPort };

  const host = (values.host as string | undefined) ?? '127.0.0.1';
  if (host.trim() === '' || /[\s/]/.test(host)) return { ok: false, message: `invalid --host '${host}': expected an IP address or host name` };
  for (const flag of ['models', 'data'] as const) {
    if (values[flag] !== undefined && String(values[flag]).trim() === '') {
      return { ok: false, message: `invalid --${flag} '': expected a folder path` };
    }
  }
  const rpc: string[] = [];
  if (values.rpc !== undefined) {
    for (const item of String(values.rpc).split(',')) {
      const endpoint = item.trim();
      const parsed = parseEndpoint(endpoint);
      if ('error' in parsed) return { ok: false, message: `invalid --rpc: ${parsed.error}` };
      rpc.push(endpoint);
    }
  }
  const distributed = values.distributed === undefined ? undefined : String(values.distributed).trim();
  if (distributed === '') return { ok: false, message: "invalid --distributed '': expected a model name or a .gguf path" };
  const envToken = env.SYNAPTIC_TOKEN?.trim() || undefined;
  if (envToken !== undefined && envToken.length < 16) {
    return { ok: false, message: 'invalid SYNAPTIC_TOKEN: expected at least 16 characters' };
  }

  return {
    ok: true,
    options: {
      host,
      port,
      fallbackPort: fallbackPort ?? (port === 11434 ? 11435 : undefined),
      uiPort,
      modelsDir: values.models === undefined ? undefined : resolve(String(values.models)),
      dataDir: values.data === undefined ? defaultDataDir(env) : resolve(String(values.data)),
      embedded: values['no-embedded'] ? false : undefined,
      token: envToken,
      rpc,
      distributed,
    },
  };
}

function parsePort(flag: string, raw: string | boolean | undefined, fallback: number): number | string {
  if (raw === undefined) return fallback;
  const text = String(raw);
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) return `invalid ${flag} '${text}': expected a port from 0 to 65535`;
  return Number(text);
}

/** Returns the platform's per-user app-data folder for SynapticLlamas. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'SynapticLlamas');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'SynapticLlamas');
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'SynapticLlamas');
}

/** Registers the `--rpc` backends and starts the `--distributed` model; failures are logged, not fatal. */
async function startDistributedFromFlags(plane: ControlPlane, rpc: string[], model: string | undefined, log: Logger): Promise<void> {
  const distributed = plane.services.distributed;
  for (const endpoint of rpc) {
    try {
      const view = await distributed.addBackend(endpoint);
      log.info({ endpoint, backend: view }, `RPC backend ${endpoint} added`);
    } catch (error) {
      log.error({ endpoint, err: (error as Error).message }, `RPC backend ${endpoint} could not be checked`);
    }
  }
  if (model === undefined) return;
  try {
    const view = await distributed.startModel({ model, backends: rpc.length > 0 ? rpc : undefined });
    log.info({ model, distributed: view }, `Distributed model ${model} started`);
    if (view.warning) process.stderr.write(`serve: warning: ${view.warning}\n`);
  } catch (error) {
    log.error({ model, err: (error as Error).message }, `Distributed model ${model} failed to start`);
  }
}

/** Explains a gateway that could not listen, with the flag that fixes it. */
export function gatewayListenMessage(options: Pick<ServeOptions, 'port' | 'fallbackPort'>, detail: string): string {
  const hint =
    options.fallbackPort === undefined
      ? `pass another --port, or --fallback-port PORT to use when --port ${options.port} is in use`
      : 'pass another --port or --fallback-port';
  return `the gateway could not listen: ${detail}; ${hint}`;
}

/** Explains a UI server that could not listen, naming --ui-port and the port. */
export function uiListenMessage(host: string, port: number, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return `--ui-port ${port} is in use on ${host}; pass another --ui-port, or --ui-port 0 for a free port`;
  if (code === 'EACCES') return `--ui-port ${port} on ${host} is not permitted (EACCES); pass a port above 1023`;
  return `the web UI could not listen on ${host}:${port} (--ui-port): ${(error as Error).message}`;
}

async function main(): Promise<void> {
  const parsed = parseServeFlags(process.argv.slice(2));
  if (parsed.ok === 'help') {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (!parsed.ok) {
    process.stderr.write(`serve: ${parsed.message}\n\n${usage}\n`);
    process.exit(2);
  }
  const options = parsed.options;
  const log = createRootLogger();
  const needsToken = !isLoopbackHost(options.host);
  const token = options.token ?? (needsToken ? randomBytes(24).toString('base64url') : undefined);

  const plane = new ControlPlane({
    dataDir: options.dataDir,
    host: options.host,
    port: options.port,
    fallbackPort: options.fallbackPort,
    modelsDir: options.modelsDir,
    embedded: options.embedded,
    token,
    log,
    requireGateway: true,
  });

  // The UI server starts first, so a taken --ui-port fails before anything else has started.
  const staticDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out', 'renderer');
  let ui: UiServer;
  try {
    ui = await startUiServer({ api: plane.api, bus: plane.bus, host: options.host, port: options.uiPort, token, staticDir, log: log.child({ component: 'ui-server' }) });
  } catch (error) {
    process.stderr.write(`serve: ${uiListenMessage(options.host, options.uiPort, error)}\n`);
    process.exit(1);
  }
  plane.reserveOwnPort(ui.port, 'the web UI');

  const gateway = await plane.start();
  if (!gateway.listening) {
    await ui.close();
    process.stderr.write(`serve: ${gatewayListenMessage(options, gateway.message)}\n`);
    process.exit(1);
  }
  plane.attach({ name: 'UI server', stop: () => ui.close() });

  await startDistributedFromFlags(plane, options.rpc, options.distributed, log);

  const lines = [
    `gateway: ${plane.gateway.url()} (${gateway.message})`,
    `ui:      ${ui.url}`,
    `data:    ${options.dataDir}`,
  ];
  if (plane.embedded) lines.push(`embedded node: ${plane.embedded.url}`);
  if (token && !options.token) {
    lines.push(`token:   ${token}  (send as Authorization: Bearer <token>)`);
    lines.push(`open:    ${ui.url}?token=${token}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'Stopping');
    plane.stop().then(
      () => process.exit(0),
      (error) => {
        log.error({ err: error }, 'Stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error) => {
    process.stderr.write(`serve: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
