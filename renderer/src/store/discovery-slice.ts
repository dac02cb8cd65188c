import type { AddOutcome, LocalDiscovery, ScanProgress, ScanView } from '../../../shared/api/discovery';
import type { ApiResult } from '../../../shared/result';
import type { SliceContext } from './types';

export type DiscoverySlice = {
  /** Id of the scan the Discovery view follows, or null before the first scan. */
  scanId: string | null;
  /** Latest `discovery:progress` payload of that scan. */
  scanProgress: ScanProgress | null;
  /** Full result of that scan, fetched once it stops running. */
  scanResult: ScanView | null;
  scanError: string | null;
  localResult: LocalDiscovery | null;
  startScan(input: { cidr: string; ports: number[] }): Promise<ApiResult<{ scanId: string; total: number }>>;
  cancelScan(): Promise<void>;
  /** Fetches one scan by id, or the newest scan kept by the control plane when no id is given. */
  loadScanResult(scanId?: string): Promise<void>;
  addProposals(ids: string[]): Promise<ApiResult<AddOutcome[]>>;
  checkLocal(): Promise<ApiResult<LocalDiscovery>>;
  applyDiscoveryProgress(progress: ScanProgress): void;
};

/** Ports probed when the user leaves the ports field at its default: Ollama and llama.cpp rpc-server. */
export const DEFAULT_SCAN_PORTS = [11434, 50052];

export function createDiscoverySlice({ client, set, get }: SliceContext): DiscoverySlice {
  // Progress events of a scan can arrive before `discovery:scan` returns its id, so the newest one is
  // kept here and matched once the id is known.
  let pendingProgress: ScanProgress | null = null;

  return {
    scanId: null,
    scanProgress: null,
    scanResult: null,
    scanError: null,
    localResult: null,
    async startScan(input) {
      set({ scanError: null });
      pendingProgress = null;
      const result = await client.invoke('discovery:scan', input);
      if (!result.ok) {
        set({ scanError: result.error.message });
        return result;
      }
      const { scanId, total } = result.value;
      const early = pendingProgress as ScanProgress | null;
      const progress: ScanProgress =
        early && early.id === scanId
          ? early
          : {
              id: scanId,
              cidr: input.cidr,
              ports: input.ports,
              rpcPorts: [],
              state: 'running',
              probed: 0,
              total,
              startedAt: new Date().toISOString(),
              found: 0,
              rejectedCount: 0,
            };
      pendingProgress = null;
      set({ scanId, scanProgress: progress, scanResult: null });
      if (progress.state !== 'running') await get().loadScanResult(scanId);
      return result;
    },
    async cancelScan() {
      const scanId = get().scanId;
      if (!scanId) return;
      const result = await client.invoke('discovery:cancel', { scanId });
      if (!result.ok) set({ scanError: result.error.message });
      else await get().loadScanResult(scanId);
    },
    async loadScanResult(scanId) {
      const result = await client.invoke('discovery:results', scanId ? { scanId } : {});
      if (!result.ok) {
        set({ scanError: result.error.message });
        return;
      }
      const view = result.value[0];
      if (!view) return;
      if (get().scanId !== null && get().scanId !== view.id) return;
      const { proposals, rejected, ...rest } = view;
      set({
        scanId: view.id,
        scanResult: view,
        scanProgress: { ...rest, found: proposals.length, rejectedCount: rejected.length },
      });
    },
    async addProposals(ids) {
      const scanId = get().scanId;
      if (!scanId) {
        return { ok: false, error: { code: 'invalid_argument', message: 'no scan to add from: run a scan first' } };
      }
      return client.invoke('discovery:add', { scanId, ids });
    },
    async checkLocal() {
      const result = await client.invoke('discovery:local', {});
      if (result.ok) set({ localResult: result.value });
      return result;
    },
    applyDiscoveryProgress(progress) {
      const scanId = get().scanId;
      if (scanId !== progress.id) {
        pendingProgress = progress;
        return;
      }
      const wasRunning = get().scanProgress?.state === 'running';
      set({ scanProgress: progress });
      if (wasRunning && progress.state !== 'running') void get().loadScanResult(progress.id);
    },
  };
}
