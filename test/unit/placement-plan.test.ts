import { describe, expect, it } from 'vitest';
import { classifyPlacement, gpuCapacity } from '../../electron/control/placement/classify';
import { planPlacement, type PlanInput } from '../../electron/control/placement/plan';

const base: PlanInput = {
  nodeId: 'n1',
  model: 'm',
  sizeBytes: 3e9,
  placement: 'cpu',
  capacityBytes: 8e9,
  otherModelsVramBytes: 0,
  nodesWithModelOnGpu: [],
  inFlight: 0,
  lastAttemptAt: undefined,
  cooldownMs: 60_000,
  now: 100_000,
};

describe('planPlacement', () => {
  const table: Array<[string, Partial<PlanInput>, string]> = [
    ['a model fully on GPU needs nothing', { placement: 'gpu' }, 'fine'],
    ['a CPU model with room is reloaded', {}, 'reload'],
    ['a partial model with room is reloaded', { placement: 'partial' }, 'reload'],
    ['unknown capacity is skipped', { capacityBytes: undefined }, 'skip'],
    ['too little room beside other models is skipped', { otherModelsVramBytes: 6e9 }, 'skip'],
    ['a model in use is skipped', { inFlight: 1 }, 'skip'],
    ['a recent attempt is skipped', { lastAttemptAt: 90_000 }, 'skip'],
    ['an old attempt allows another', { lastAttemptAt: 30_000 }, 'reload'],
    ['another node with a GPU copy gets advice', { nodesWithModelOnGpu: ['n2'] }, 'advise'],
  ];
  for (const [name, patch, kind] of table) {
    it(name, () => expect(planPlacement({ ...base, ...patch }).kind).toBe(kind));
  }

  it('names the sizes when there is no room', () => {
    const decision = planPlacement({ ...base, otherModelsVramBytes: 6e9 });
    expect(decision.kind === 'skip' && decision.reason).toBe('m is on cpu on n1: it needs 3000000000 bytes of VRAM and 2000000000 are free');
  });
});

describe('classifyPlacement', () => {
  it('is gpu only when size_vram equals size', () => {
    expect(classifyPlacement(100, 100)).toBe('gpu');
    expect(classifyPlacement(100, 99)).toBe('partial');
    expect(classifyPlacement(100, 0)).toBe('cpu');
  });
});

describe('gpuCapacity', () => {
  it('prefers the user setting, then the agent, then the largest seen', () => {
    expect(gpuCapacity({ userVramBytes: 8, agentVramBytes: 6, largestVramSeenBytes: 4 })).toEqual({ bytes: 8, source: 'user' });
    expect(gpuCapacity({ agentVramBytes: 6, largestVramSeenBytes: 4 })).toEqual({ bytes: 6, source: 'agent' });
    expect(gpuCapacity({ largestVramSeenBytes: 4 })).toEqual({ bytes: 4, source: 'observed' });
    expect(gpuCapacity({ largestVramSeenBytes: 0 })).toBeUndefined();
  });
});
