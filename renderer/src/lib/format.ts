import type { LoadedModel } from '../../../shared/types';

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const exponent = Math.min(Math.floor(Math.log2(bytes) / 10), units.length - 1);
  const value = bytes / 1024 ** exponent;
  return `${value >= 10 || exponent === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[exponent]}`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms`;
}

/** Share of a loaded model held in GPU memory, as a percentage from 0 to 100. */
export function gpuPercent(model: Pick<LoadedModel, 'sizeBytes' | 'sizeVramBytes'>): number {
  if (model.sizeBytes <= 0) return 0;
  const share = (model.sizeVramBytes / model.sizeBytes) * 100;
  return Math.max(0, Math.min(100, Math.round(share)));
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleTimeString();
}
