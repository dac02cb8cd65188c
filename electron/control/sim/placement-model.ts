import type { Placement } from '../../../shared/types';
import type { SimModel, SimNodeProfile } from './profile';

export type LayerPlan = { layers: number; sizeVram: number; placement: Placement };

/**
 * Decides how many layers of a model a simulated node puts on its GPU. Full offload is
 * `blockCount + 1` layers (the blocks plus the output layer), as in llama.cpp. `requestedLayers`
 * is the request's `num_gpu` (undefined when absent or negative). Without it the load lands on
 * CPU when `landsOnCpu` is true, which stands for the real fault where Ollama sees too little
 * free VRAM. Layers are then capped by the VRAM left free by other loaded models.
 */
export function planLayers(
  profile: SimNodeProfile,
  model: SimModel,
  requestedLayers: number | undefined,
  freeVramBytes: number,
  landsOnCpu: boolean,
): LayerPlan {
  const totalLayers = model.blockCount + 1;
  let layers: number;
  if (profile.gpuVramBytes === 0) layers = 0;
  else if (requestedLayers !== undefined) layers = Math.min(requestedLayers, totalLayers);
  else layers = landsOnCpu ? 0 : totalLayers;

  const bytesPerLayer = model.sizeBytes / totalLayers;
  const fitLayers = Math.max(0, Math.floor(freeVramBytes / bytesPerLayer));
  layers = Math.max(0, Math.min(layers, fitLayers));

  if (layers === totalLayers) return { layers, sizeVram: model.sizeBytes, placement: 'gpu' };
  if (layers === 0) return { layers, sizeVram: 0, placement: 'cpu' };
  return { layers, sizeVram: Math.round(bytesPerLayer * layers), placement: 'partial' };
}

/**
 * Tokens per second for a model with `layers` of `totalLayers` on GPU: the per-token time is
 * the GPU share of the layers at GPU speed plus the rest at CPU speed.
 */
export function tokensPerSecond(profile: SimNodeProfile, layers: number, totalLayers: number): number {
  const gpuShare = totalLayers > 0 ? layers / totalLayers : 0;
  const secondsPerToken = gpuShare / profile.tokensPerSecGpu + (1 - gpuShare) / profile.tokensPerSecCpu;
  return 1 / secondsPerToken;
}
