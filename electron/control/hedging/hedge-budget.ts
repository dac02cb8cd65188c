/**
 * Sliding-window cap on hedged requests: a hedge may be sent only while hedges in the last
 * `windowMs` stay at or below `ratio` of the requests in that window (5% by default).
 */
export class HedgeBudget {
  private readonly requests: number[] = [];
  private readonly hedges: number[] = [];
  private readonly ratio: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: { ratio?: number; windowMs?: number; now?: () => number } = {}) {
    this.ratio = options.ratio ?? 0.05;
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
    if (!(this.ratio >= 0 && this.ratio <= 1)) throw new Error(`invalid hedge ratio ${this.ratio}: must be from 0 to 1`);
    if (!(this.windowMs > 0)) throw new Error(`invalid hedge window ${this.windowMs} ms: must be positive`);
  }

  /** Counts one incoming request against the window. */
  noteRequest(): void {
    this.requests.push(this.now());
  }

  /** Takes one hedge from the budget when the cap allows it. */
  tryTake(): boolean {
    this.prune();
    if (this.hedges.length + 1 > this.ratio * this.requests.length) return false;
    this.hedges.push(this.now());
    return true;
  }

  /** Hedges and requests in the current window. */
  usage(): { hedges: number; requests: number } {
    this.prune();
    return { hedges: this.hedges.length, requests: this.requests.length };
  }

  private prune(): void {
    const cutoff = this.now() - this.windowMs;
    while (this.requests.length > 0 && this.requests[0] <= cutoff) this.requests.shift();
    while (this.hedges.length > 0 && this.hedges[0] <= cutoff) this.hedges.shift();
  }
}
