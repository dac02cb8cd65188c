import type { LoadedModel } from '../../../shared/types';
import { formatBytes, gpuPercent } from '../lib/format';

/** Horizontal bar splitting a loaded model between GPU and CPU memory (`size_vram` / `size`). */
export function PlacementBar({ model }: { model: LoadedModel }) {
  const gpu = gpuPercent(model);
  const cpu = 100 - gpu;
  const label = `${model.name}: ${gpu}% GPU, ${cpu}% CPU (${formatBytes(model.sizeVramBytes)} of ${formatBytes(model.sizeBytes)} in GPU memory)`;
  return (
    <div className="placement" data-testid="placement-bar" data-gpu-percent={gpu}>
      <div className="placement-label">
        <span className="model-name">{model.name}</span>
        <span>
          {gpu}% GPU / {cpu}% CPU · {formatBytes(model.sizeBytes)}
        </span>
      </div>
      <div className="placement-track" role="img" aria-label={label}>
        <div className="placement-gpu" style={{ width: `${gpu}%` }} />
        <div className="placement-cpu" style={{ width: `${cpu}%` }} />
      </div>
    </div>
  );
}
