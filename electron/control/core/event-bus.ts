import type { EventMap, EventName } from '../../../shared/events';

type Listener = (type: string, payload: unknown) => void;

/**
 * Fan-out of control-plane events to every transport (Electron IPC, the `/events` WebSocket)
 * and to in-process listeners. A listener that throws is dropped from that delivery only.
 */
export class EventBus {
  private readonly listeners = new Set<Listener>();

  emit<E extends EventName>(type: E, payload: EventMap[E]): void {
    for (const listener of this.listeners) {
      try {
        listener(type, payload);
      } catch {
        // A broken subscriber must not stop the others or the emitter.
      }
    }
  }

  /** Subscribes to every event; returns the function that unsubscribes. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Subscribes to one event type. */
  on<E extends EventName>(type: E, handler: (payload: EventMap[E]) => void): () => void {
    return this.subscribe((t, payload) => {
      if (t === type) handler(payload as EventMap[E]);
    });
  }
}
