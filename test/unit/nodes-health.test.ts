import { describe, expect, it } from 'vitest';
import { classifyProbe, nextCheckDelay } from '../../electron/control/nodes/health';
import { placementOf } from '../../electron/control/nodes/placement';
import type { ProbeReport } from '../../electron/control/nodes/probe';

function report(failures: Array<keyof ProbeReport>, elapsedMs = 5): ProbeReport {
  const probe = (name: keyof ProbeReport, value: unknown) =>
    failures.includes(name)
      ? { ok: false as const, error: `${name} failed: ECONNREFUSED`, elapsedMs }
      : { ok: true as const, value, elapsedMs };
  return {
    heartbeat: probe('heartbeat', null),
    version: probe('version', '0.6.0'),
    tags: probe('tags', []),
    ps: probe('ps', []),
  } as ProbeReport;
}

describe('classifyProbe', () => {
  it('marks a node that answers every probe quickly as up', () => {
    expect(classifyProbe(report([]), 1000)).toEqual({ health: 'up', problems: [] });
  });

  it('marks a node with one failing probe as degraded and names the probe', () => {
    const verdict = classifyProbe(report(['ps']), 1000);
    expect(verdict.health).toBe('degraded');
    expect(verdict.problems).toEqual(['ps failed: ECONNREFUSED']);
  });

  it('marks a node whose probes are slow as degraded', () => {
    const verdict = classifyProbe(report([], 2500), 1000);
    expect(verdict.health).toBe('degraded');
    expect(verdict.problems[0]).toContain('2500 ms');
  });

  it('marks a node that answers nothing as down', () => {
    const verdict = classifyProbe(report(['heartbeat', 'version', 'tags', 'ps']), 1000);
    expect(verdict.health).toBe('down');
    expect(verdict.problems).toHaveLength(4);
  });
});

describe('nextCheckDelay', () => {
  const cases: Array<[string, Parameters<typeof nextCheckDelay>, number]> = [
    ['a healthy node waits one interval', ['up', 0, 1000, 30_000], 1000],
    ['a degraded node waits one interval', ['degraded', 0, 1000, 30_000], 1000],
    ['a node down once waits one interval', ['down', 1, 1000, 30_000], 1000],
    ['a node down twice waits two intervals', ['down', 2, 1000, 30_000], 2000],
    ['a node down four times waits eight intervals', ['down', 4, 1000, 30_000], 8000],
    ['a node down for long waits the cap', ['down', 50, 1000, 30_000], 30_000],
  ];
  it.each(cases)('%s', (_name, args, expected) => {
    expect(nextCheckDelay(...args)).toBe(expected);
  });
});

describe('placementOf', () => {
  it('calls a model with no VRAM cpu', () => expect(placementOf(100, 0)).toBe('cpu'));
  it('calls a model fully in VRAM gpu', () => expect(placementOf(100, 100)).toBe('gpu'));
  it('calls a model partly in VRAM partial', () => expect(placementOf(100, 40)).toBe('partial'));
});
