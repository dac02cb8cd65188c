import type { PlacementActionView } from '../../../../shared/api/metrics';
import type { NodeView } from '../../../../shared/types';
import { formatBytes, formatTime } from '../../lib/format';
import { useApp } from '../../store/context';

const ACTIONS_PER_NODE = 6;

/** Per node, its GPU memory filled by each loaded model's size_vram, with CPU spill and controller actions. */
export function VramView() {
  const nodes = useApp((state) => state.nodes);
  const actions = useApp((state) => state.placementActions);
  return (
    <section aria-labelledby="vram-heading" data-testid="vram-view" className="dashboard">
      <h2 id="vram-heading">VRAM placement</h2>
      <p className="muted">
        Blue segments are each model's <code>size_vram</code> (bytes in GPU memory, as Ollama reports it); yellow is the part
        of the model spilled to CPU memory.
      </p>
      {nodes.length === 0 && <p className="muted">No nodes.</p>}
      <div className="vram-list">
        {nodes.map((node) => (
          <NodeVram key={node.id} node={node} actions={actions.filter((a) => a.nodeId === node.id).slice(-ACTIONS_PER_NODE).reverse()} />
        ))}
      </div>
    </section>
  );
}

function NodeVram({ node, actions }: { node: NodeView; actions: PlacementActionView[] }) {
  const usedVram = node.loaded.reduce((n, m) => n + m.sizeVramBytes, 0);
  const spill = node.loaded.reduce((n, m) => n + Math.max(0, m.sizeBytes - m.sizeVramBytes), 0);
  const capacity = node.gpuVramBytes ?? 0;
  // Without a known capacity the bars are scaled to what is loaded, and the label states that the capacity is unknown.
  const scale = Math.max(capacity, usedVram, spill, 1);
  const capacityText = capacity > 0 ? `${formatBytes(usedVram)} of ${formatBytes(capacity)} GPU memory` : `${formatBytes(usedVram)} in GPU memory, capacity unknown`;
  return (
    <article className="card vram-node" data-testid="vram-node" data-node-id={node.id}>
      <div className="section-header">
        <h3>
          {node.name} <span className={`health health-${node.health}`}>{node.health}</span>
        </h3>
        <span className="muted" data-testid="vram-capacity">
          {capacityText}
        </span>
      </div>
      <div className="vram-track" role="img" aria-label={`${node.name}: ${capacityText}`}>
        {node.loaded
          .filter((model) => model.sizeVramBytes > 0)
          .map((model) => (
            <div
              key={model.name}
              className="vram-segment"
              data-testid="vram-segment"
              style={{ width: `${(model.sizeVramBytes / scale) * 100}%` }}
              title={`${model.name}: size_vram ${formatBytes(model.sizeVramBytes)}`}
            >
              <span>{model.name}</span>
            </div>
          ))}
      </div>
      {spill > 0 && (
        <div className="vram-track vram-track-cpu" role="img" aria-label={`${node.name}: ${formatBytes(spill)} spilled to CPU memory`}>
          {node.loaded
            .filter((model) => model.sizeBytes > model.sizeVramBytes)
            .map((model) => (
              <div
                key={model.name}
                className="vram-segment vram-segment-cpu"
                data-testid="vram-cpu-segment"
                style={{ width: `${((model.sizeBytes - model.sizeVramBytes) / scale) * 100}%` }}
                title={`${model.name}: ${formatBytes(model.sizeBytes - model.sizeVramBytes)} in CPU memory`}
              >
                <span>{model.name} (CPU)</span>
              </div>
            ))}
        </div>
      )}
      {node.loaded.length === 0 ? (
        <p className="muted">No model loaded.</p>
      ) : (
        <table className="vram-table">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">size_vram (GPU)</th>
              <th scope="col">CPU spill</th>
              <th scope="col">Placement</th>
            </tr>
          </thead>
          <tbody>
            {node.loaded.map((model) => (
              <tr key={model.name} data-testid="vram-row">
                <td>{model.name}</td>
                <td>{formatBytes(model.sizeVramBytes)}</td>
                <td data-testid="vram-spill">{model.sizeBytes > model.sizeVramBytes ? formatBytes(model.sizeBytes - model.sizeVramBytes) : '0 B'}</td>
                <td>{model.placement}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {spill > 0 && (
        <p className="warn-text" data-testid="vram-spill-total">
          {formatBytes(spill)} spilled to CPU memory.
        </p>
      )}
      {actions.length > 0 && (
        <ul className="compact-list" data-testid="vram-actions" aria-label={`Controller actions on ${node.name}`}>
          {actions.map((action) => (
            <li key={`${action.at}-${action.model}-${action.action}-${action.outcome}`}>
              <time dateTime={action.at}>{formatTime(action.at)}</time> {action.action} {action.model}: {action.outcome}
              {action.placement ? ` (${action.placement})` : ''} <span className="muted">{action.detail}</span>
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}
