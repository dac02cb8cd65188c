import type {
  DistributedModelView,
  LlamaBinariesView,
  LlamaBuildProgress,
  LlamaBuildView,
  RpcBackendView,
} from '../../../shared/api/distributed';
import type { ChannelInput } from '../../../shared/api';
import type { ApiResult } from '../../../shared/result';
import type { SliceContext } from './types';

/** Build output lines kept for the log tail under the progress bar. */
export const MAX_BUILD_LINES = 200;

/**
 * Actions of the Distributed view and the llama.cpp build state. The backend and model lists
 * themselves live in the dashboard slice (`rpcBackends`, `distributedModels`), which the Layers
 * view shares.
 */
export type DistributedSlice = {
  binaries: LlamaBinariesView | null;
  binariesError: string | null;
  build: LlamaBuildView | null;
  buildLines: string[];
  buildError: string | null;
  loadBinaries(refresh?: boolean): Promise<void>;
  /** Starts `llama:build`, or joins the build that already runs. */
  startBuild(): Promise<void>;
  applyBuildProgress(progress: LlamaBuildProgress): void;
  applyDistributedState(model: DistributedModelView): void;
  /** Forgets a distributed model and its layer map after `distributed:removed` or a successful stop. */
  removeDistributedModel(id: string): void;
  addRpcBackend(input: ChannelInput<'rpc:add'>): Promise<ApiResult<RpcBackendView>>;
  removeRpcBackend(endpoint: string): Promise<ApiResult<{ removed: boolean }>>;
  checkRpcBackend(endpoint: string): Promise<ApiResult<RpcBackendView>>;
  startLocalRpc(input: ChannelInput<'rpc:start-local'>): Promise<ApiResult<RpcBackendView>>;
  stopLocalRpc(endpoint: string): Promise<ApiResult<{ stopped: boolean }>>;
  startDistributed(input: ChannelInput<'distributed:start'>): Promise<ApiResult<DistributedModelView>>;
  stopDistributed(id: string): Promise<ApiResult<{ stopped: boolean }>>;
};

function upsertBackend(list: RpcBackendView[], backend: RpcBackendView): RpcBackendView[] {
  return [...list.filter((b) => b.endpoint !== backend.endpoint), backend].sort((a, b) => a.endpoint.localeCompare(b.endpoint));
}

function upsertModel(list: DistributedModelView[], model: DistributedModelView): DistributedModelView[] {
  const index = list.findIndex((m) => m.id === model.id);
  if (index === -1) return [...list, model];
  const next = [...list];
  next[index] = model;
  return next;
}

export function createDistributedSlice({ client, set, get }: SliceContext): DistributedSlice {
  const applyBackend = (result: ApiResult<RpcBackendView>) => {
    if (result.ok) set((state) => ({ rpcBackends: upsertBackend(state.rpcBackends, result.value) }));
    return result;
  };

  return {
    binaries: null,
    binariesError: null,
    build: null,
    buildLines: [],
    buildError: null,
    async loadBinaries(refresh = false) {
      const result = await client.invoke('llama:binaries', { refresh });
      if (result.ok) set({ binaries: result.value, binariesError: null });
      else set({ binariesError: result.error.message });
    },
    async startBuild() {
      if (get().build?.state === 'running') return;
      const startedAt = new Date().toISOString();
      set({ build: { state: 'running', startedAt, percent: null, tail: [] }, buildLines: [], buildError: null });
      const result = await client.invoke('llama:build', {});
      if (!result.ok) {
        set((state) => ({ build: state.build ? { ...state.build, state: 'failed' } : null, buildError: result.error.message }));
        return;
      }
      // A call that joined a running build gets that build's state, and later progress events update it.
      set((state) => ({ build: result.value, buildLines: state.buildLines.length > 0 ? state.buildLines : result.value.tail }));
      if (result.value.state === 'done') await get().loadBinaries(true);
    },
    applyBuildProgress(progress) {
      set((state) => {
        const previous = state.build ?? { state: 'running' as const, startedAt: new Date().toISOString(), percent: null, tail: [] };
        return {
          buildLines: [...state.buildLines, progress.line].slice(-MAX_BUILD_LINES),
          build: {
            ...previous,
            state: progress.state ?? 'running',
            percent: progress.percent ?? previous.percent,
          },
        };
      });
      if (progress.state === 'done') void get().loadBinaries(true);
    },
    applyDistributedState(model) {
      set((state) => ({
        distributedModels: upsertModel(state.distributedModels, model),
        layerMaps: model.layers ? { ...state.layerMaps, [model.id]: model.layers } : state.layerMaps,
      }));
    },
    removeDistributedModel(id) {
      set((state) => {
        const { [id]: _removed, ...layerMaps } = state.layerMaps;
        return { distributedModels: state.distributedModels.filter((model) => model.id !== id), layerMaps };
      });
    },
    async addRpcBackend(input) {
      return applyBackend(await client.invoke('rpc:add', input));
    },
    async removeRpcBackend(endpoint) {
      const result = await client.invoke('rpc:remove', { endpoint });
      if (result.ok) set((state) => ({ rpcBackends: state.rpcBackends.filter((b) => b.endpoint !== endpoint) }));
      return result;
    },
    async checkRpcBackend(endpoint) {
      return applyBackend(await client.invoke('rpc:check', { endpoint }));
    },
    async startLocalRpc(input) {
      return applyBackend(await client.invoke('rpc:start-local', input));
    },
    async stopLocalRpc(endpoint) {
      const result = await client.invoke('rpc:stop-local', { endpoint });
      if (result.ok) void get().loadDistributed();
      return result;
    },
    async startDistributed(input) {
      const result = await client.invoke('distributed:start', input);
      if (result.ok) get().applyDistributedState(result.value);
      return result;
    },
    async stopDistributed(id) {
      const result = await client.invoke('distributed:stop', { id });
      if (result.ok) {
        get().removeDistributedModel(id);
        await get().loadDistributed();
      }
      return result;
    },
  };
}
