import type { ApiResult } from '../../../shared/result';
import type { ConnectionState, SynapticBridge, SynapticClient } from './types';

/** Client over Electron IPC; the bridge is always connected while the window exists. */
export function createIpcClient(bridge: SynapticBridge): SynapticClient {
  return {
    transport: 'ipc',
    async invoke(channel, args) {
      try {
        return (await bridge.invoke(channel, args)) as ApiResult<never>;
      } catch (error) {
        return { ok: false, error: { code: 'unavailable', message: `IPC call '${channel}' failed: ${(error as Error).message}` } };
      }
    },
    on(listener) {
      return bridge.on(listener);
    },
    onConnection(listener: (state: ConnectionState) => void) {
      listener('open');
      return () => undefined;
    },
  };
}
