import type { RoutingSettings, RoutingStats, routingSettingsUpdate } from '../../../shared/api/routing';
import type { ApiResult } from '../../../shared/result';
import type { NodeView } from '../../../shared/types';
import type { z } from 'zod';
import type { SliceContext } from './types';

export type RoutingSettingsUpdate = z.input<typeof routingSettingsUpdate>;

export type SettingsSlice = {
  routingSettings: RoutingSettings | null;
  routingStats: RoutingStats | null;
  /** Error of the last settings or stats load. Save errors go back to the caller instead. */
  settingsError: string | null;
  loadRoutingSettings(): Promise<void>;
  loadRoutingStats(): Promise<void>;
  saveRoutingSettings(update: RoutingSettingsUpdate): Promise<ApiResult<RoutingSettings>>;
  /** Sets a node's GPU memory in bytes through `nodes:update`, or clears it with null. */
  saveNodeGpuVram(id: string, gpuVramBytes: number | null): Promise<ApiResult<NodeView>>;
};

export function createSettingsSlice({ client, set, get }: SliceContext): SettingsSlice {
  return {
    routingSettings: null,
    routingStats: null,
    settingsError: null,
    async loadRoutingSettings() {
      const result = await client.invoke('routing:settings', {});
      if (result.ok) set({ routingSettings: result.value, settingsError: null });
      else set({ settingsError: result.error.message });
    },
    async loadRoutingStats() {
      const result = await client.invoke('routing:stats', {});
      if (result.ok) set({ routingStats: result.value });
      else set({ settingsError: result.error.message });
    },
    async saveRoutingSettings(update) {
      const result = await client.invoke('routing:set', update);
      if (result.ok) {
        set({ routingSettings: result.value });
        void get().loadRoutingStats();
      }
      return result;
    },
    async saveNodeGpuVram(id, gpuVramBytes) {
      const result = await client.invoke('nodes:update', { id, gpuVramBytes });
      if (result.ok) get().applyNodeState(result.value);
      return result;
    },
  };
}
