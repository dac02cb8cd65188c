import type { ChannelInput, ChannelName, ChannelOutput } from '../../../shared/api';
import type { EventFrame } from '../../../shared/events';
import type { ApiResult } from '../../../shared/result';

export type { EventFrame };

export type EventListener = (frame: EventFrame) => void;

/** State of the event stream; `open` after every (re)connect, so views can refetch. */
export type ConnectionState = 'connecting' | 'open' | 'closed';

/** The renderer's only way to reach the control plane, over IPC or over HTTP. */
export interface SynapticClient {
  readonly transport: 'ipc' | 'http';
  invoke<C extends ChannelName>(channel: C, args?: ChannelInput<C>): Promise<ApiResult<ChannelOutput<C>>>;
  /** Subscribes to every pushed event; returns the function that unsubscribes. */
  on(listener: EventListener): () => void;
  onConnection(listener: (state: ConnectionState) => void): () => void;
}

/** The object that the Electron preload script exposes as `window.synaptic`. */
export type SynapticBridge = {
  invoke(channel: string, args: unknown): Promise<ApiResult<unknown>>;
  on(listener: (frame: EventFrame) => void): () => void;
};
