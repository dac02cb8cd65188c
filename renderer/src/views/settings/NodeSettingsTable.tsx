import { useState } from 'react';
import type { NodeView } from '../../../../shared/types';
import { useApp } from '../../store/context';
import { formatGib, parseGib, parseSlots } from './gib';

/** Input that an error belongs to. Slots covers its parse and `routing:set`, and gpu covers the GiB parse and `nodes:update`. */
type ErrorField = 'slots' | 'gpu';

function NodeSettingsRow({ node, slots }: { node: NodeView; slots: number | undefined }) {
  const settings = useApp((state) => state.routingSettings);
  const saveRouting = useApp((state) => state.saveRoutingSettings);
  const saveGpu = useApp((state) => state.saveNodeGpuVram);
  const [slotsText, setSlotsText] = useState(slots === undefined ? '' : String(slots));
  const [gibText, setGibText] = useState(formatGib(node.gpuVramBytes));
  const [error, setError] = useState<{ field: ErrorField; message: string } | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const errorId = `node-settings-error-${node.id}`;

  const save = async () => {
    setError(null);
    setSaved(false);
    const parsedSlots = parseSlots(slotsText);
    if (!parsedSlots.ok) {
      setError({ field: 'slots', message: parsedSlots.message });
      return;
    }
    const parsedGib = parseGib(gibText);
    if (!parsedGib.ok) {
      setError({ field: 'gpu', message: parsedGib.message });
      return;
    }
    setBusy(true);
    const nodeParallel = { ...(settings?.nodeParallel ?? {}) };
    if (parsedSlots.slots === null) delete nodeParallel[node.id];
    else nodeParallel[node.id] = parsedSlots.slots;
    const routing = await saveRouting({ nodeParallel });
    const gpu = routing.ok ? await saveGpu(node.id, parsedGib.bytes) : null;
    setBusy(false);
    if (!routing.ok) setError({ field: 'slots', message: routing.error.message });
    else if (gpu && !gpu.ok) setError({ field: 'gpu', message: gpu.error.message });
    else setSaved(true);
  };

  return (
    <tr data-testid="node-settings-row" data-node-id={node.id}>
      <th scope="row">{node.name}</th>
      <td>
        <input
          aria-label={`Parallel slots for ${node.name}`}
          data-testid="node-parallel-input"
          inputMode="numeric"
          size={4}
          placeholder="1"
          value={slotsText}
          onChange={(event) => setSlotsText(event.target.value)}
          aria-invalid={error?.field === 'slots' ? true : undefined}
          aria-describedby={error?.field === 'slots' ? errorId : undefined}
        />
      </td>
      <td>
        <input
          aria-label={`GPU memory in GiB for ${node.name}`}
          data-testid="node-gpu-input"
          inputMode="decimal"
          size={6}
          placeholder="unknown"
          value={gibText}
          onChange={(event) => setGibText(event.target.value)}
          aria-invalid={error?.field === 'gpu' ? true : undefined}
          aria-describedby={error?.field === 'gpu' ? errorId : undefined}
        />
      </td>
      <td>
        <button type="button" data-testid="node-settings-save" disabled={busy} onClick={() => void save()}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        {error && (
          <p id={errorId} className="error" role="alert" data-testid="node-settings-error">
            {error.message}
          </p>
        )}
        {saved && (
          <span className="muted" role="status" data-testid="node-settings-saved">
            {' '}
            Saved
          </span>
        )}
      </td>
    </tr>
  );
}

/** Per-node parallel request slots (`nodeParallel`) and GPU memory (`nodes:update gpuVramBytes`). */
export function NodeSettingsTable() {
  const nodes = useApp((state) => state.nodes);
  const settings = useApp((state) => state.routingSettings);
  if (!settings) return null;
  return (
    <section aria-labelledby="node-settings-heading" className="card settings-capacity" data-testid="node-settings">
      <h3 id="node-settings-heading">Per-node capacity</h3>
      <p className="muted">
        Parallel slots is how many requests a node generates at once (OLLAMA_NUM_PARALLEL); empty means 1. GPU memory
        is the node's total GPU capacity as you know it; empty clears it.
      </p>
      {nodes.length === 0 ? (
        <p className="muted">No nodes yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Parallel slots</th>
                <th scope="col">GPU memory (GiB)</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {nodes.map((node) => (
                <NodeSettingsRow key={node.id} node={node} slots={settings.nodeParallel[node.id]} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
