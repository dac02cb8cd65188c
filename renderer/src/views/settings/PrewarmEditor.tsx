import { useId, useState, type FormEvent } from 'react';
import type { RoutingSettings } from '../../../../shared/api/routing';
import { useApp } from '../../store/context';

type PrewarmPair = RoutingSettings['prewarm'][number];

/** Pre-warm pairs: models loaded on the listed nodes at start and when a node recovers. */
export function PrewarmEditor() {
  const settings = useApp((state) => state.routingSettings);
  const nodes = useApp((state) => state.nodes);
  const models = useApp((state) => state.models);
  const save = useApp((state) => state.saveRoutingSettings);
  const [model, setModel] = useState('');
  const [nodeIds, setNodeIds] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const modelId = useId();
  const listId = useId();
  const errorId = useId();

  if (!settings) return null;

  const nodeName = (id: string) => nodes.find((node) => node.id === id)?.name ?? id;

  const savePairs = async (prewarm: PrewarmPair[]) => {
    setBusy(true);
    setError(null);
    const result = await save({ prewarm });
    setBusy(false);
    if (!result.ok) setError(result.error.message);
    return result.ok;
  };

  const add = async (event: FormEvent) => {
    event.preventDefault();
    const pair = { model: model.trim(), nodeIds };
    if (await savePairs([...settings.prewarm, pair])) {
      setModel('');
      setNodeIds([]);
    }
  };

  const toggleNode = (id: string) => {
    setNodeIds((current) => (current.includes(id) ? current.filter((entry) => entry !== id) : [...current, id]));
  };

  return (
    <section aria-labelledby="prewarm-heading" className="card" data-testid="prewarm">
      <h3 id="prewarm-heading">Pre-warm</h3>
      <p className="muted">Each model is loaded on its nodes when the control plane starts and when a node recovers.</p>
      {settings.prewarm.length === 0 ? (
        <p className="muted" data-testid="prewarm-empty">
          No pre-warm pairs.
        </p>
      ) : (
        <ul className="compact-list">
          {settings.prewarm.map((pair, index) => (
            <li key={`${pair.model}-${index}`} data-testid="prewarm-pair">
              <strong>{pair.model}</strong> on {pair.nodeIds.map(nodeName).join(', ')}{' '}
              <button
                type="button"
                data-testid="prewarm-remove"
                disabled={busy}
                aria-label={`Remove pre-warm of ${pair.model}`}
                onClick={() => void savePairs(settings.prewarm.filter((_, other) => other !== index))}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={add} noValidate data-testid="prewarm-form">
        <div className="field">
          <label htmlFor={modelId}>Model</label>
          <input
            id={modelId}
            data-testid="prewarm-model"
            list={listId}
            value={model}
            onChange={(event) => setModel(event.target.value)}
            placeholder="llama3.2:1b"
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : undefined}
          />
          <datalist id={listId}>
            {models.map((entry) => (
              <option key={entry.name} value={entry.name} />
            ))}
          </datalist>
        </div>
        <fieldset className="prewarm-nodes">
          <legend>Nodes</legend>
          {nodes.length === 0 && <p className="muted">No nodes yet.</p>}
          {nodes.map((node) => (
            <label key={node.id} className="settings-check">
              <input
                type="checkbox"
                data-testid="prewarm-node"
                checked={nodeIds.includes(node.id)}
                onChange={() => toggleNode(node.id)}
              />
              {node.name}
            </label>
          ))}
        </fieldset>
        {error && (
          <p id={errorId} className="error" role="alert" data-testid="prewarm-error">
            {error}
          </p>
        )}
        <div className="actions">
          <button type="submit" data-testid="prewarm-add" disabled={busy}>
            Add pre-warm
          </button>
        </div>
      </form>
    </section>
  );
}
