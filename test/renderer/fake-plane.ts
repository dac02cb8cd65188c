import type { NodeView } from '../../shared/types';
import type { ChannelName } from '../../shared/api';
import type { EventFrame } from '../../shared/events';
import type { ApiResult } from '../../shared/result';
import type { ConnectionState, SynapticClient } from '../../renderer/src/client/types';

type Handler = (args: unknown) => ApiResult<unknown> | Promise<ApiResult<unknown>>;

/**
 * In-memory control plane for component tests. Each channel returns the result of a handler the test
 * sets, every call is recorded, and `emit` pushes an event as the bus would.
 */
export class FakePlane {
  readonly calls: { channel: string; args: unknown }[] = [];
  private readonly handlers = new Map<string, Handler>();
  private readonly listeners = new Set<(frame: EventFrame) => void>();

  handle(channel: ChannelName, handler: Handler): void {
    this.handlers.set(channel, handler);
  }

  emit(type: string, payload: unknown): void {
    for (const listener of this.listeners) listener({ type, payload });
  }

  callsTo(channel: string): unknown[] {
    return this.calls.filter((call) => call.channel === channel).map((call) => call.args);
  }

  client(): SynapticClient {
    return {
      transport: 'ipc',
      invoke: async (channel, args) => {
        this.calls.push({ channel, args });
        const handler = this.handlers.get(channel);
        if (!handler) return { ok: false, error: { code: 'unavailable', message: `no handler for ${channel}` } } as never;
        return (await handler(args)) as never;
      },
      on: (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
      onConnection: (listener: (state: ConnectionState) => void) => {
        listener('open');
        return () => undefined;
      },
    };
  }
}

export function ok<T>(value: T): ApiResult<T> {
  return { ok: true, value };
}

/** Builds a healthy node view for tests; `overrides` replaces any field. */
export function nodeView(overrides: Partial<NodeView> = {}): NodeView {
  return {
    id: 'n1',
    url: 'http://127.0.0.1:11435',
    name: 'alpha',
    kind: 'ollama',
    health: 'up',
    consecutiveFailures: 0,
    models: [],
    loaded: [],
    inFlight: 0,
    problems: [],
    ...overrides,
  };
}
