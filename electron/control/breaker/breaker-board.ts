import type { Logger } from '../core/logger';
import type { EventBus } from '../core/event-bus';
import type { BreakerState } from '../scoring/candidate';
import { NodeBreaker, type BreakerOptions, type Transition } from './node-breaker';

/** Payload of the `breaker:state` event. */
export type BreakerEvent = { nodeId: string; from: BreakerState; to: BreakerState; reason: string; at: string };

/**
 * One breaker per node, created on first use. Every transition is logged and published as a
 * `breaker:state` event.
 */
export class BreakerBoard {
  private readonly breakers = new Map<string, NodeBreaker>();

  constructor(
    private readonly deps: { log: Logger; events?: EventBus; options?: BreakerOptions },
  ) {}

  get(nodeId: string): NodeBreaker {
    let breaker = this.breakers.get(nodeId);
    if (!breaker) {
      breaker = new NodeBreaker(nodeId, this.deps.options, (id, t) => this.report(id, t));
      this.breakers.set(nodeId, breaker);
    }
    return breaker;
  }

  state(nodeId: string): BreakerState {
    return this.breakers.get(nodeId)?.state() ?? 'closed';
  }

  remove(nodeId: string): void {
    this.breakers.delete(nodeId);
  }

  private report(nodeId: string, transition: Transition): void {
    const level = transition.to === 'closed' ? 'info' : 'warn';
    this.deps.log[level]({ nodeId, from: transition.from, to: transition.to, reason: transition.reason }, 'Breaker changed state');
    const payload: BreakerEvent = { nodeId, ...transition, at: new Date().toISOString() };
    this.deps.events?.emit('breaker:state', payload);
  }
}
