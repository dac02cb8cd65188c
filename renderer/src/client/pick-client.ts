import { createHttpClient } from './http-client';
import { createIpcClient } from './ipc-client';
import { takeToken } from './token';
import type { SynapticBridge, SynapticClient } from './types';

declare global {
  interface Window {
    synaptic?: SynapticBridge;
  }
}

/** Uses the Electron bridge when the preload script exposed one, HTTP otherwise. */
export function pickClient(win: Window = window): SynapticClient {
  if (win.synaptic) return createIpcClient(win.synaptic);
  return createHttpClient({ baseUrl: new URL('/', win.location.href).toString(), token: takeToken(win) });
}
