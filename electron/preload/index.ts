import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { isChannelName } from '../../shared/api';
import type { EventFrame } from '../../shared/events';
import type { ApiResult } from '../../shared/result';
import type { SynapticBridge } from '../../renderer/src/client/types';

/** IPC channel on which main pushes control-plane events to the window. */
const EVENT_CHANNEL = 'synaptic:event';

// The page gets this one object, never ipcRenderer itself, and can only call contract channels.
const bridge: SynapticBridge = {
  invoke(channel: string, args: unknown): Promise<ApiResult<unknown>> {
    if (typeof channel !== 'string' || !isChannelName(channel)) {
      return Promise.resolve({
        ok: false,
        error: { code: 'unknown_channel', message: `unknown channel '${String(channel)}'` },
      });
    }
    return ipcRenderer.invoke(channel, args) as Promise<ApiResult<unknown>>;
  },
  on(listener: (frame: EventFrame) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('synaptic.on expects a function');
    const forward = (_event: IpcRendererEvent, frame: EventFrame) => listener(frame);
    ipcRenderer.on(EVENT_CHANNEL, forward);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, forward);
    };
  },
};

contextBridge.exposeInMainWorld('synaptic', bridge);
