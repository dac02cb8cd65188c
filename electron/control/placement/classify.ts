import type { Placement } from '../../../shared/types';

/** Classifies a loaded model from Ollama's `/api/ps` sizes: `gpu` only when size_vram == size. */
export function classifyPlacement(sizeBytes: number, sizeVramBytes: number): Placement {
  if (sizeVramBytes <= 0) return 'cpu';
  if (sizeVramBytes >= sizeBytes) return 'gpu';
  return 'partial';
}

export type CapacitySources = {
  /** GPU memory the user entered for the node. */
  userVramBytes?: number;
  /** GPU memory reported by a node agent, when one runs there. */
  agentVramBytes?: number;
  /** The largest total size_vram ever seen on the node, a lower bound on its GPU memory. */
  largestVramSeenBytes?: number;
};

/**
 * Returns the node's usable GPU memory in bytes, taken from the first source that is known and
 * positive: user setting, node agent, then the largest total size_vram observed. The last one
 * is a lower bound, so a node is never credited with more room than it has shown.
 */
export function gpuCapacity(sources: CapacitySources): { bytes: number; source: 'user' | 'agent' | 'observed' } | undefined {
  if (sources.userVramBytes && sources.userVramBytes > 0) return { bytes: sources.userVramBytes, source: 'user' };
  if (sources.agentVramBytes && sources.agentVramBytes > 0) return { bytes: sources.agentVramBytes, source: 'agent' };
  if (sources.largestVramSeenBytes && sources.largestVramSeenBytes > 0) return { bytes: sources.largestVramSeenBytes, source: 'observed' };
  return undefined;
}
