/** Pure builders for the command lines of llama-server and the RPC server. */

export type LlamaServerFlagInput = {
  modelPath: string;
  port: number;
  /** RPC endpoints as `host:port`; empty runs llama-server on its own devices only. */
  rpc: string[];
  /** Layers to offload; default 'all'. */
  gpuLayers?: number | 'all';
  /** Proportions per device in llama-server's device order; omitted when undefined. */
  tensorSplit?: number[];
  ctx?: number;
  parallel?: number;
  threads?: number;
  /** Passed only when this build's `--help` lists `--no-webui`. */
  noWebui?: boolean;
  alias?: string;
  /** Log verbosity; 4 is the lowest at which this llama.cpp version logs the buffer sizes the layer map needs. */
  verbosity?: number;
};

export function buildLlamaServerArgs(input: LlamaServerFlagInput): string[] {
  const args = ['--host', '127.0.0.1', '--port', String(input.port), '-m', input.modelPath];
  if (input.rpc.length > 0) args.push('--rpc', input.rpc.join(','));
  args.push('-ngl', String(input.gpuLayers ?? 'all'));
  if (input.tensorSplit && input.tensorSplit.length > 0) {
    args.push('--tensor-split', input.tensorSplit.map(formatSplit).join(','));
  }
  if (input.ctx !== undefined) args.push('-c', String(input.ctx));
  if (input.parallel !== undefined) args.push('--parallel', String(input.parallel));
  if (input.threads !== undefined) args.push('--threads', String(input.threads));
  if (input.alias) args.push('--alias', input.alias);
  if (input.noWebui) args.push('--no-webui');
  args.push('-lv', String(input.verbosity ?? 4));
  return args;
}

function formatSplit(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3).replace(/0+$/, '');
}

export type RpcServerFlagInput = {
  host?: string;
  port: number;
  threads?: number;
  /** Backend devices to expose, for example `CPU` or `CUDA0`. */
  device?: string[];
  /** Memory to advertise, in MiB; only builds whose `--help` lists `--mem` accept it. */
  memMiB?: number;
  /** Enables the RPC server's local tensor cache. */
  cache?: boolean;
};

export function buildRpcServerArgs(input: RpcServerFlagInput): string[] {
  const args = ['--host', input.host ?? '127.0.0.1', '--port', String(input.port)];
  if (input.threads !== undefined) args.push('--threads', String(input.threads));
  if (input.device && input.device.length > 0) args.push('--device', input.device.join(','));
  if (input.memMiB !== undefined) args.push('--mem', String(input.memMiB));
  if (input.cache) args.push('--cache');
  return args;
}

/**
 * Splits the model across RPC devices in proportion to their free memory, rounded to three
 * decimals. Returns undefined when any free figure is missing or all are zero, so that
 * llama-server falls back to its own split.
 */
export function tensorSplitFromFreeMemory(freeMiB: Array<number | undefined>): number[] | undefined {
  if (freeMiB.length === 0) return undefined;
  if (freeMiB.some((v) => v === undefined || !Number.isFinite(v) || v < 0)) return undefined;
  const values = freeMiB as number[];
  const total = values.reduce((a, b) => a + b, 0);
  if (total <= 0) return undefined;
  return values.map((v) => Math.round((v / total) * 1000) / 1000);
}

/** True when `host` binds only the loopback interface. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Parses `host:port` (IPv6 in brackets) into its parts, or returns an error message naming the value. */
export function parseEndpoint(value: string): { host: string; port: number } | { error: string } {
  const match = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(value.trim());
  if (!match) return { error: `invalid RPC endpoint '${value}': expected host:port` };
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return { error: `invalid RPC endpoint '${value}': port must be 1-65535` };
  return { host: match[1], port };
}
