import { describe, expect, it } from 'vitest';
import { NodeBreaker, isNodeFailure, type Transition } from '../../electron/control/breaker/node-breaker';

function setup() {
  let clock = 0;
  const transitions: Transition[] = [];
  const breaker = new NodeBreaker('n1', { now: () => clock, failureThreshold: 3, openMs: 1000, probeIntervalMs: 500, slowFactor: 3, slowStreak: 2, probationPasses: 2 }, (_id, t) => transitions.push(t));
  return { breaker, transitions, advance: (ms: number) => (clock += ms) };
}

const fail503 = { ok: false, status: 503, latencyMs: 5 };
const ok = { ok: true, status: 200, latencyMs: 100, expectedLatencyMs: 100 };
const slowOk = { ok: true, status: 200, latencyMs: 900, expectedLatencyMs: 100 };

describe('isNodeFailure', () => {
  const table: Array<[string, Parameters<typeof isNodeFailure>[0], boolean]> = [
    ['a fast 503 is a failure', fail503, true],
    ['a connection reset is a failure', { ok: false, latencyMs: 2 }, true],
    ['a 500 is a failure', { ok: false, status: 500, latencyMs: 10 }, true],
    ['a 429 is a failure', { ok: false, status: 429, latencyMs: 10 }, true],
    ['a 404 for an unknown model is not', { ok: false, status: 404, latencyMs: 10 }, false],
    ['a 400 for a bad body is not', { ok: false, status: 400, latencyMs: 10 }, false],
    ['a client cancellation is not', { ok: false, cancelled: true, latencyMs: 10 }, false],
    ['a success is not', ok, false],
  ];
  for (const [name, result, expected] of table) {
    it(name, () => expect(isNodeFailure(result)).toBe(expected));
  }
});

describe('NodeBreaker', () => {
  it('opens after three consecutive failures', () => {
    const { breaker } = setup();
    breaker.record(fail503);
    breaker.record(fail503);
    expect(breaker.state()).toBe('closed');
    breaker.record(fail503);
    expect(breaker.state()).toBe('open');
    expect(breaker.admit()).toBe('rejected');
  });

  it('resets the failure count on success', () => {
    const { breaker } = setup();
    breaker.record(fail503);
    breaker.record(fail503);
    breaker.record(ok);
    breaker.record(fail503);
    expect(breaker.state()).toBe('closed');
  });

  it('lets one probe through when half-open and closes on success', () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.record(fail503);
    advance(1000);
    expect(breaker.state()).toBe('half_open');
    expect(breaker.admit()).toBe('probe');
    expect(breaker.admit()).toBe('rejected');
    breaker.record(ok);
    expect(breaker.state()).toBe('closed');
    expect(breaker.admit()).toBe('allowed');
  });

  it('reopens with a doubled period when the probe fails', () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.record(fail503);
    advance(1000);
    breaker.admit();
    breaker.record(fail503);
    expect(breaker.state()).toBe('open');
    expect(breaker.retryInMs()).toBe(2000);
    advance(1999);
    expect(breaker.state()).toBe('open');
    advance(1);
    expect(breaker.state()).toBe('half_open');
  });

  it('puts a slow node on probation and lets shadow probes end it', () => {
    const { breaker, advance, transitions } = setup();
    breaker.record(slowOk);
    breaker.record(slowOk);
    expect(breaker.state()).toBe('probation');
    expect(breaker.admit()).toBe('rejected');
    expect(breaker.shouldShadowProbe()).toBe(false);
    advance(500);
    expect(breaker.shouldShadowProbe()).toBe(true);
    expect(breaker.shouldShadowProbe()).toBe(false);
    breaker.record(ok);
    breaker.record(slowOk);
    breaker.record(ok);
    expect(breaker.state()).toBe('probation');
    breaker.record(ok);
    expect(breaker.state()).toBe('closed');
    expect(transitions.map((t) => t.to)).toEqual(['probation', 'closed']);
  });

  it('opens from probation when a shadow probe fails', () => {
    const { breaker } = setup();
    breaker.record(slowOk);
    breaker.record(slowOk);
    breaker.record(fail503);
    expect(breaker.state()).toBe('open');
  });

  it('ignores client cancellations', () => {
    const { breaker } = setup();
    for (let i = 0; i < 5; i++) breaker.record({ ok: false, cancelled: true, latencyMs: 1 });
    expect(breaker.state()).toBe('closed');
  });
});

describe('NodeBreaker probe bookkeeping', () => {
  it('allows a new probe when the last one never reported', () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.record(fail503);
    advance(1000);
    expect(breaker.admit()).toBe('probe');
    advance(999);
    expect(breaker.admit()).toBe('rejected');
    advance(1);
    expect(breaker.admit()).toBe('probe');
  });
});
