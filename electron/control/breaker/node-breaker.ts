import type { BreakerState } from '../scoring/candidate';
import { classifyResult } from './result-kind';

export type BreakerOptions = {
  now?: () => number;
  /** Consecutive failures that open the breaker. */
  failureThreshold?: number;
  /** First open period in milliseconds; it doubles after each failed probe, up to maxOpenMs. */
  openMs?: number;
  maxOpenMs?: number;
  /** A request slower than this many times its expected latency counts as slow. */
  slowFactor?: number;
  /** Consecutive slow successes that put the node on probation. */
  slowStreak?: number;
  /** Minimum milliseconds between shadow probes while on probation. */
  probeIntervalMs?: number;
  /** Consecutive fast shadow probes that end probation. */
  probationPasses?: number;
};

/** A finished request, as recorded by the breaker. */
export type BreakerResult = {
  ok: boolean;
  /** HTTP status from the node, when one arrived. */
  status?: number;
  /** Error message of a failed request, which identifies a failed model load. */
  error?: string;
  latencyMs: number;
  /** Latency this node normally has for this kind of request, when known. */
  expectedLatencyMs?: number;
  /** True when the client went away, which is no evidence about the node's health. */
  cancelled?: boolean;
};

export type Admission = 'allowed' | 'probe' | 'rejected';

export type Transition = { from: BreakerState; to: BreakerState; reason: string };

/**
 * Counts a result as a node failure: no response at all (connection refused or reset, timeout)
 * or a 5xx or 429 status. A fast response is still a failure, so a 503 in 5 ms counts like a timeout.
 * Client errors (400, 404), client cancellations and a failed load of one model (a 500 such as
 * `failed to load model ...`) do not count against the node.
 */
export function isNodeFailure(result: BreakerResult): boolean {
  return classifyResult(result) === 'node_failure';
}

/**
 * Circuit breaker for one node. closed: traffic flows. open: no traffic until the open period
 * ends. half_open: one probe request; success closes, failure reopens with a doubled period.
 * probation: the node responds but is slow for its kind, so it gets no normal traffic, only
 * shadow probes (copies of real requests whose responses are discarded) until enough are fast.
 */
export class NodeBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private slowCount = 0;
  private passes = 0;
  private trips = 0;
  private openUntil = 0;
  private probeInFlight = false;
  private probeStartedAt = 0;
  private nextProbeAt = 0;
  private readonly now: () => number;
  private readonly options: Required<Omit<BreakerOptions, 'now'>>;

  constructor(
    readonly nodeId: string,
    options: BreakerOptions = {},
    private readonly onTransition: (nodeId: string, transition: Transition) => void = () => undefined,
  ) {
    this.now = options.now ?? Date.now;
    this.options = {
      failureThreshold: options.failureThreshold ?? 3,
      openMs: options.openMs ?? 5000,
      maxOpenMs: options.maxOpenMs ?? 60_000,
      slowFactor: options.slowFactor ?? 3,
      slowStreak: options.slowStreak ?? 3,
      probeIntervalMs: options.probeIntervalMs ?? 5000,
      probationPasses: options.probationPasses ?? 3,
    };
    if (this.options.failureThreshold < 1) throw new Error(`invalid failureThreshold ${this.options.failureThreshold}: must be at least 1`);
  }

  /** Returns the state, moving open to half_open once the open period has passed. */
  state(): BreakerState {
    if (this.current === 'open' && this.now() >= this.openUntil) this.move('half_open', 'open period ended');
    return this.current;
  }

  /**
   * Claims permission to send a normal request; a half-open breaker lets one probe through. A
   * probe whose result was not recorded within `openMs` is given up, so another may start.
   */
  admit(): Admission {
    const state = this.state();
    if (state === 'closed') return 'allowed';
    const probeAbandoned = this.probeInFlight && this.now() - this.probeStartedAt >= this.options.openMs;
    if (state === 'half_open' && (!this.probeInFlight || probeAbandoned)) {
      this.probeInFlight = true;
      this.probeStartedAt = this.now();
      return 'probe';
    }
    return 'rejected';
  }

  /** True once per probe interval while on probation: the caller should send a shadow probe. */
  shouldShadowProbe(): boolean {
    if (this.state() !== 'probation' || this.now() < this.nextProbeAt) return false;
    this.nextProbeAt = this.now() + this.options.probeIntervalMs;
    return true;
  }

  /** Records the outcome of a request or probe sent to this node. */
  record(result: BreakerResult): void {
    if (result.cancelled) {
      this.probeInFlight = false;
      return;
    }
    const state = this.state();
    const failed = isNodeFailure(result);
    const slow = result.ok && result.expectedLatencyMs !== undefined && result.latencyMs > this.options.slowFactor * result.expectedLatencyMs;

    if (failed) {
      this.slowCount = 0;
      this.passes = 0;
      this.failures++;
      if (state === 'half_open' || state === 'probation') this.open(`probe failed${result.status ? ` with status ${result.status}` : ''}`);
      else if (this.failures >= this.options.failureThreshold) this.open(`${this.failures} consecutive failures, last ${describe(result)}`);
      return;
    }

    this.failures = 0;
    if (state === 'half_open') {
      this.probeInFlight = false;
      this.trips = 0;
      this.move('closed', 'probe succeeded');
    } else if (state === 'probation') {
      this.passes = slow ? 0 : this.passes + 1;
      if (this.passes >= this.options.probationPasses) {
        this.slowCount = 0;
        this.move('closed', `${this.passes} fast shadow probes`);
      }
    } else if (state === 'closed') {
      this.slowCount = slow ? this.slowCount + 1 : 0;
      if (this.slowCount >= this.options.slowStreak) {
        this.passes = 0;
        this.nextProbeAt = this.now() + this.options.probeIntervalMs;
        this.move('probation', `${this.slowCount} requests slower than ${this.options.slowFactor}x expected`);
      }
    }
  }

  /** Milliseconds until an open breaker allows a probe; 0 when not open. */
  retryInMs(): number {
    return this.current === 'open' ? Math.max(0, this.openUntil - this.now()) : 0;
  }

  private open(reason: string): void {
    const period = Math.min(this.options.maxOpenMs, this.options.openMs * 2 ** this.trips);
    this.trips++;
    this.probeInFlight = false;
    this.openUntil = this.now() + period;
    this.move('open', `${reason}; retry in ${period} ms`);
  }

  private move(to: BreakerState, reason: string): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.onTransition(this.nodeId, { from, to, reason });
  }
}

function describe(result: BreakerResult): string {
  return result.status !== undefined ? `status ${result.status} after ${Math.round(result.latencyMs)} ms` : `no response after ${Math.round(result.latencyMs)} ms`;
}
