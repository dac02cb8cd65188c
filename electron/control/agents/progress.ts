import type { AgentStep } from '../../../shared/types';
import type { EventBus } from '../core/event-bus';

/**
 * Emits `agent:progress` events for the steps of one turn. Deltas that arrive within
 * `intervalMs` of the last event for the same step are joined into one event, so a fast model
 * sends at most one event per step per interval. Every event carries a copy of the step.
 */
export class ProgressEmitter {
  private readonly pending = new Map<string, { step: AgentStep; delta: string; timer?: NodeJS.Timeout }>();
  private readonly lastEmitAt = new Map<string, number>();

  constructor(
    private readonly bus: EventBus,
    private readonly conversationId: string,
    private readonly turnId: string,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reports text appended to `step`; `step.text` already contains it. */
  delta(step: AgentStep, delta: string): void {
    const entry = this.pending.get(step.id) ?? { step, delta: '' };
    entry.delta += delta;
    this.pending.set(step.id, entry);
    const elapsed = this.now() - (this.lastEmitAt.get(step.id) ?? 0);
    if (elapsed >= this.intervalMs) {
      this.flush(step);
    } else if (!entry.timer) {
      entry.timer = setTimeout(() => this.flush(step), this.intervalMs - elapsed);
    }
  }

  /** Emits the step's current state at once, with any delta still held back. */
  flush(step: AgentStep): void {
    const entry = this.pending.get(step.id);
    if (entry?.timer) clearTimeout(entry.timer);
    this.pending.delete(step.id);
    this.lastEmitAt.set(step.id, this.now());
    this.bus.emit('agent:progress', {
      conversationId: this.conversationId,
      turnId: this.turnId,
      step: { ...step },
      ...(entry && entry.delta.length > 0 ? { delta: entry.delta } : {}),
    });
  }

  /** Drops held-back deltas without emitting them. */
  dispose(): void {
    for (const entry of this.pending.values()) {
      if (entry.timer) clearTimeout(entry.timer);
    }
    this.pending.clear();
  }
}
