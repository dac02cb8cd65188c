import { z } from 'zod';
import { channel } from './channel';

/** Largest range one scan accepts: a /22, 1024 addresses. */
export const MAX_SCAN_ADDRESSES = 1024;

const portSchema = z.number().int().min(1, 'port must be 1-65535').max(65535, 'port must be 1-65535');

export const scanInput = z.object({
  /** IPv4 range in CIDR notation (`192.168.1.0/24`); a bare address scans that one address. */
  cidr: z.string().trim().min(1, 'cidr is required'),
  /** Ports probed as Ollama (HTTP) unless also listed in `rpcPorts`. Default: 11434 and 50052. */
  ports: z.array(portSchema).min(1, 'ports must list at least one port').max(16).optional(),
  /** Ports treated as llama.cpp rpc-server, which speaks a binary protocol, not HTTP. Default: 50052. */
  rpcPorts: z.array(portSchema).max(16).optional(),
  /** Connections open at once. Default 64. */
  concurrency: z.number().int().min(1).max(256).optional(),
  /** TCP connect timeout in milliseconds. Default 300. */
  timeoutMs: z.number().int().min(20).max(10_000).optional(),
  /** Timeout for each fingerprint HTTP request, in milliseconds. Default 2000. */
  fingerprintTimeoutMs: z.number().int().min(50).max(30_000).optional(),
});

export type DiscoveryKind = 'ollama' | 'rpc';

/** A service found by discovery that the user may add. Never added without a request. */
export type DiscoveryProposal = {
  /** `<kind>:<host>:<port>`, stable across scans. */
  id: string;
  kind: DiscoveryKind;
  host: string;
  port: number;
  /** `http://host:port` for Ollama, `host:port` for rpc-server. */
  address: string;
  /** True once the fingerprint or the rpc device check passed. */
  verified: boolean;
  detail: string;
  /** The `version` field of the node's `/api/version` response. */
  version?: string;
  /** Model names from `/api/tags`. */
  models?: string[];
  source: 'scan' | 'OLLAMA_HOST' | 'default';
  latencyMs: number;
};

/** An open port that failed the fingerprint, kept so the user sees why it was not proposed. */
export type DiscoveryRejection = { host: string; port: number; reason: string };

export type ScanState = 'running' | 'done' | 'cancelled' | 'failed';

export type ScanView = {
  id: string;
  cidr: string;
  ports: number[];
  rpcPorts: number[];
  state: ScanState;
  /** Address and port pairs probed so far, and in all. */
  probed: number;
  total: number;
  startedAt: string;
  finishedAt?: string;
  error?: string;
  proposals: DiscoveryProposal[];
  rejected: DiscoveryRejection[];
};

/** Payload of the `discovery:progress` event. */
export type ScanProgress = Omit<ScanView, 'proposals' | 'rejected'> & { found: number; rejectedCount: number };

export type AddOutcome = {
  id: string;
  ok: boolean;
  /** The channel used: `nodes:add` or `rpc:add`. */
  channel?: string;
  value?: unknown;
  error?: string;
};

export type LocalDiscovery = {
  proposals: DiscoveryProposal[];
  /** Proposals on this machine that were added as nodes. */
  added: AddOutcome[];
  rejected: DiscoveryRejection[];
};

export const discoveryChannels = {
  /** Starts a scan and returns at once; progress arrives as `discovery:progress` events. */
  'discovery:scan': channel(scanInput)<{ scanId: string; total: number }>(),
  'discovery:cancel': channel(z.object({ scanId: z.string().min(1, 'scanId is required') }))<{
    cancelled: boolean;
  }>(),
  /** One scan by id, or every scan kept in memory (newest first) when no id is given. */
  'discovery:results': channel(z.object({ scanId: z.string().min(1).optional() }).optional())<ScanView[]>(),
  /** Adds the selected proposals of a scan through `nodes:add` (Ollama) or `rpc:add` (rpc-server). */
  'discovery:add': channel(
    z.object({
      scanId: z.string().min(1, 'scanId is required'),
      ids: z.array(z.string().min(1)).min(1, 'ids must name at least one proposal'),
    }),
  )<AddOutcome[]>(),
  /** Checks OLLAMA_HOST and 127.0.0.1:11434, adding an Ollama found on this machine. */
  'discovery:local': channel(z.object({}).optional())<LocalDiscovery>(),
};
