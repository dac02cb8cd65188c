import type { Placement } from '../../../shared/types';

export type PlanInput = {
  nodeId: string;
  model: string;
  sizeBytes: number;
  placement: Placement;
  /** Usable GPU memory of the node, undefined when unknown. */
  capacityBytes: number | undefined;
  /** size_vram of the node's other loaded models. */
  otherModelsVramBytes: number;
  /** Other nodes that hold this model entirely on GPU. */
  nodesWithModelOnGpu: string[];
  /** Requests now running on this (node, model). */
  inFlight: number;
  lastAttemptAt: number | undefined;
  cooldownMs: number;
  now: number;
};

export type PlanDecision =
  | { kind: 'fine' }
  | { kind: 'skip'; reason: string }
  | { kind: 'advise'; preferNodeIds: string[]; reason: string }
  | { kind: 'reload'; reason: string };

/**
 * Decides what to do about a model that did not land fully on GPU. Pure. A full GPU copy needs
 * nothing. Unknown capacity or too little room leaves it alone. Another node with a full GPU copy
 * means advising the router to prefer that node. Requests in flight or a recent attempt leave it
 * alone. Otherwise the model is reloaded here with every layer on GPU.
 */
export function planPlacement(input: PlanInput): PlanDecision {
  if (input.placement === 'gpu') return { kind: 'fine' };
  const where = `${input.model} is on ${input.placement} on ${input.nodeId}`;
  if (input.capacityBytes === undefined) return { kind: 'skip', reason: `${where}, but the node's GPU capacity is unknown` };
  const room = input.capacityBytes - input.otherModelsVramBytes;
  if (room < input.sizeBytes) {
    return { kind: 'skip', reason: `${where}: it needs ${input.sizeBytes} bytes of VRAM and ${Math.max(0, room)} are free` };
  }
  if (input.nodesWithModelOnGpu.length > 0) {
    return { kind: 'advise', preferNodeIds: input.nodesWithModelOnGpu, reason: `${where}; ${input.nodesWithModelOnGpu.join(', ')} hold it fully on GPU` };
  }
  if (input.inFlight > 0) return { kind: 'skip', reason: `${where}, but it is serving ${input.inFlight} request(s)` };
  if (input.lastAttemptAt !== undefined && input.now - input.lastAttemptAt < input.cooldownMs) {
    return { kind: 'skip', reason: `${where}; the last attempt was ${input.now - input.lastAttemptAt} ms ago (cooldown ${input.cooldownMs} ms)` };
  }
  return { kind: 'reload', reason: `${where} with room for ${input.sizeBytes} bytes on GPU` };
}
