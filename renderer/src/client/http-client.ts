import type { ApiResult } from '../../../shared/result';
import type { ConnectionState, EventFrame, EventListener, SynapticClient } from './types';

export type HttpClientOptions = {
  /** Origin and base path of the UI server, e.g. `http://127.0.0.1:7000/`. */
  baseUrl: string;
  token?: string;
  fetchImpl?: typeof fetch;
  WebSocketImpl?: typeof WebSocket;
  /** First and largest wait before reconnecting the event socket, in milliseconds. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
};

function unavailable(message: string): ApiResult<never> {
  return { ok: false, error: { code: 'unavailable', message } };
}

function isFrame(value: unknown): value is EventFrame {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

/**
 * Client for serve mode: `POST /rpc/<channel>` for calls and the `/events` WebSocket for
 * pushed events. The socket reconnects with exponential backoff for as long as anyone listens.
 */
export function createHttpClient(options: HttpClientOptions): SynapticClient {
  const fetchImpl = options.fetchImpl ?? fetch.bind(globalThis);
  const SocketImpl = options.WebSocketImpl ?? WebSocket;
  const minDelay = options.reconnectMinMs ?? 500;
  const maxDelay = options.reconnectMaxMs ?? 10_000;
  const listeners = new Set<EventListener>();
  const connectionListeners = new Set<(state: ConnectionState) => void>();
  let socket: WebSocket | null = null;
  let delay = minDelay;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  let state: ConnectionState = 'closed';

  const setState = (next: ConnectionState) => {
    state = next;
    for (const listener of connectionListeners) listener(next);
  };

  const eventsUrl = () => {
    const url = new URL('events', options.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (options.token) url.searchParams.set('token', options.token);
    return url.toString();
  };

  const connect = () => {
    reconnectTimer = null;
    if (listeners.size === 0 && connectionListeners.size === 0) return;
    setState('connecting');
    const ws = new SocketImpl(eventsUrl());
    socket = ws;
    ws.onopen = () => {
      delay = minDelay;
      setState('open');
    };
    ws.onmessage = (message: MessageEvent) => {
      let frame: unknown;
      try {
        frame = JSON.parse(String(message.data));
      } catch {
        return;
      }
      if (!isFrame(frame)) return;
      for (const listener of listeners) listener(frame);
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      setState('closed');
      scheduleReconnect();
    };
  };

  const scheduleReconnect = () => {
    if (reconnectTimer || (listeners.size === 0 && connectionListeners.size === 0)) return;
    reconnectTimer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, maxDelay);
  };

  const ensureSocket = () => {
    if (!socket && !reconnectTimer) connect();
  };

  const stopIfUnused = () => {
    if (listeners.size > 0 || connectionListeners.size > 0) return;
    if (reconnectTimer) clearTimeout(reconnectTimer);
    reconnectTimer = null;
    const ws = socket;
    socket = null;
    ws?.close();
  };

  return {
    transport: 'http',
    async invoke(channel, args) {
      const headers: Record<string, string> = {};
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      let body: string | undefined;
      if (args !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(args);
      }
      let response: Response;
      try {
        response = await fetchImpl(new URL(`rpc/${channel}`, options.baseUrl), { method: 'POST', headers, body });
      } catch (error) {
        return unavailable(`cannot reach the control plane for '${channel}': ${(error as Error).message}`);
      }
      try {
        return (await response.json()) as ApiResult<never>;
      } catch {
        return unavailable(`'${channel}' returned HTTP ${response.status} without a result envelope`);
      }
    },
    on(listener) {
      listeners.add(listener);
      ensureSocket();
      return () => {
        listeners.delete(listener);
        stopIfUnused();
      };
    },
    onConnection(listener) {
      connectionListeners.add(listener);
      listener(state);
      ensureSocket();
      return () => {
        connectionListeners.delete(listener);
        stopIfUnused();
      };
    },
  };
}
