import type { LoadedModel, NodeModel, Placement } from '../../../shared/types';
import type { PsEntry, TagEntry } from './ollama-schemas';

/** Classifies where a loaded model sits from Ollama's `size` and `size_vram`, both in bytes. */
export function placementOf(sizeBytes: number, sizeVramBytes: number): Placement {
  if (sizeVramBytes <= 0) return 'cpu';
  if (sizeVramBytes >= sizeBytes) return 'gpu';
  return 'partial';
}

export function toNodeModel(entry: TagEntry): NodeModel {
  return {
    name: entry.name,
    digest: entry.digest,
    sizeBytes: entry.size,
    family: entry.details?.family,
    parameterSize: entry.details?.parameter_size,
    quantizationLevel: entry.details?.quantization_level,
  };
}

export function toLoadedModel(entry: PsEntry): LoadedModel {
  const sizeVramBytes = entry.size_vram ?? 0;
  return {
    name: entry.name,
    digest: entry.digest,
    sizeBytes: entry.size,
    sizeVramBytes,
    placement: placementOf(entry.size, sizeVramBytes),
    contextLength: entry.context_length,
    expiresAt: entry.expires_at,
  };
}
