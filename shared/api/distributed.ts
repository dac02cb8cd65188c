import { z } from 'zod';
import { channel } from './channel';

/** One device's share of a distributed model, from llama-server's load log. Sizes in MiB. */
export type DeviceLayers = {
  /** `CPU`, or `RPC[host:port]` for a remote backend, or a local GPU name such as `CUDA0`. */
  device: string;
  modelMiB: number;
  kvMiB: number;
  computeMiB: number;
  /** Layer indices assigned to this device, as inclusive ranges, when the log reports them. */
  layerRanges: Array<[number, number]>;
};

export type LayerMap = {
  offloadedLayers: number | null;
  totalLayers: number | null;
  devices: DeviceLayers[];
  /** Sum of model, KV cache and compute buffers on non-CPU devices, in bytes (Ollama's `size_vram`). */
  offloadedBytes: number;
  /** True when the layer ranges were computed from the tensor split, not read from the log. */
  layerRangesDerived?: boolean;
};

export type RpcDevice = { name: string; description: string; totalMiB: number; freeMiB: number };

export type RpcBackendStatus = 'unknown' | 'ok' | 'unreachable' | 'incompatible' | 'no-devices' | 'invalid';

export type RpcBackendView = {
  endpoint: string;
  name?: string;
  addedAt: string;
  status: RpcBackendStatus;
  reason?: string;
  checkedAt?: string;
  devices: RpcDevice[];
  /** Present when this app started the RPC server itself. */
  local?: {
    pid: number | null;
    state: 'starting' | 'ready' | 'restarting' | 'stopped' | 'failed';
    restarts: number;
    lastError?: string;
    exposed: boolean;
  };
  problems: Array<{ kind: string; message: string; since: string }>;
};

export type DistributedState = 'checking' | 'loading' | 'ready' | 'waiting-backends' | 'restarting' | 'failed' | 'stopped';

export type DistributedModelView = {
  id: string;
  name: string;
  modelPath: string;
  state: DistributedState;
  /** The Ollama adapter's base URL; the router reaches the model here. */
  url: string;
  backends: string[];
  /** Backends left out of the launch, with the reason. */
  excluded: Array<{ endpoint: string; reason: string }>;
  tensorSplit?: number[];
  ctx?: number;
  args: string[];
  restarts: number;
  lastError?: string;
  loadMs?: number;
  layers: LayerMap | null;
  startedAt: string;
  /** Set when no RPC backend takes part, so the model runs on the local llama-server only. */
  warning?: string;
};

export type BinaryView = { kind: 'llama-server' | 'rpc-server'; path: string; version: string | null; source: string };

export type LlamaBinariesView = {
  llamaServer: BinaryView | null;
  rpcServer: BinaryView | null;
  searched: string[];
  /** How to get the binaries when one is missing. */
  hint?: string;
};

/** State of the `scripts/llama-build.mjs` run that builds llama-server and ggml-rpc-server. */
export type LlamaBuildView = {
  state: 'running' | 'done' | 'failed';
  startedAt: string;
  finishedAt?: string;
  /** Last cmake progress seen (`[ NN%]`), 0 to 100; null before cmake reports any. */
  percent: number | null;
  /** Folder that contains the built binaries, set when the build is done. */
  binDir?: string;
  /** The script's exit code when it failed; null when it was killed by a signal. */
  exitCode?: number | null;
  /** Last output lines of the script, oldest first. */
  tail: string[];
};

/** Payload of the `llama:build-progress` event: one output line of the build script. */
export type LlamaBuildProgress = {
  line: string;
  /** Set when the line carries cmake's `[ NN%]` prefix. */
  percent?: number;
  /** Set on the last event of a run. */
  state?: 'done' | 'failed';
};

const endpoint = z
  .string()
  .trim()
  .regex(/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port, for example 127.0.0.1:50052');

export const rpcAddInput = z.object({ endpoint, name: z.string().min(1).max(80).optional() });
export const rpcEndpointInput = z.object({ endpoint });

export const rpcStartLocalInput = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 or absent picks a free port. */
  port: z.number().int().min(0).max(65535).optional(),
  threads: z.number().int().min(1).max(1024).optional(),
  device: z.array(z.string().min(1)).optional(),
  /** Memory to advertise in MiB; only RPC server builds that list `--mem` accept it. */
  memMiB: z.number().int().min(1).optional(),
  cache: z.boolean().optional(),
  /** Adds the started server to the persisted backend list (default true). */
  register: z.boolean().default(true),
});

export const distributedStartInput = z.object({
  /** An Ollama store name such as `llama3.2:1b`, or a path to a `.gguf` file. */
  model: z.string().trim().min(1, 'model is required'),
  /** Name the adapter serves the model under; defaults to the store name or the file name. */
  name: z.string().trim().min(1).max(200).optional(),
  /** RPC endpoints to use; default every persisted backend that passes the device check. */
  backends: z.array(endpoint).optional(),
  ctx: z.number().int().min(64).max(1_048_576).optional(),
  tensorSplit: z.array(z.number().nonnegative()).min(1).optional(),
  gpuLayers: z.number().int().min(0).max(10_000).optional(),
  parallel: z.number().int().min(1).max(256).optional(),
  threads: z.number().int().min(1).max(1024).optional(),
});

export const distributedIdInput = z.object({ id: z.string().min(1) });

export const distributedChannels = {
  'rpc:list': channel(z.object({}).optional())<RpcBackendView[]>(),
  'rpc:add': channel(rpcAddInput)<RpcBackendView>(),
  'rpc:remove': channel(rpcEndpointInput)<{ removed: boolean }>(),
  'rpc:check': channel(rpcEndpointInput)<RpcBackendView>(),
  'rpc:start-local': channel(rpcStartLocalInput)<RpcBackendView>(),
  'rpc:stop-local': channel(rpcEndpointInput)<{ stopped: boolean }>(),
  'distributed:list': channel(z.object({}).optional())<DistributedModelView[]>(),
  'distributed:start': channel(distributedStartInput)<DistributedModelView>(),
  'distributed:stop': channel(distributedIdInput)<{ stopped: boolean }>(),
  'distributed:layers': channel(distributedIdInput)<LayerMap | null>(),
  'llama:binaries': channel(z.object({ refresh: z.boolean().optional() }).optional())<LlamaBinariesView>(),
  'llama:build': channel(z.object({}).optional())<LlamaBuildView>(),
};
