import { useState } from 'react';
import type { DistributedModelView } from '../../../../shared/api/distributed';
import { useApp } from '../../store/context';
import { formatMs } from './format';

/** Renders one distributed model's state, backends, exclusions, restarts and last error, with a stop button. */
export function DistributedModelRow({ model }: { model: DistributedModelView }) {
  const stopDistributed = useApp((state) => state.stopDistributed);
  const setView = useApp((state) => state.setView);
  const [stopping, setStopping] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const stop = async () => {
    setStopping(true);
    setError(null);
    const result = await stopDistributed(model.id);
    setStopping(false);
    if (!result.ok) setError(result.error.message);
  };

  return (
    <tr data-testid="distributed-model" data-model-id={model.id}>
      <td>
        <strong>{model.name}</strong>
        <div className="muted path">{model.modelPath}</div>
      </td>
      <td>
        <span className={`badge distributed-state-${model.state}`} data-testid="distributed-state">
          {model.state}
        </span>
      </td>
      <td data-testid="distributed-backends">
        {model.backends.length === 0 ? <span className="muted">none (CPU only)</span> : model.backends.join(', ')}
        {model.tensorSplit && <div className="muted">tensor split {model.tensorSplit.join(', ')}</div>}
      </td>
      <td data-testid="distributed-excluded">
        {model.excluded.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          <ul className="compact-list">
            {model.excluded.map((entry) => (
              <li key={entry.endpoint}>
                {entry.endpoint}: {entry.reason}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td data-testid="distributed-restarts">{model.restarts}</td>
      <td data-testid="distributed-last-error">{model.lastError ? <span className="error">{model.lastError}</span> : <span className="muted">none</span>}</td>
      <td data-testid="distributed-load-time">{model.loadMs != null ? formatMs(model.loadMs) : '—'}</td>
      <td>
        <div className="actions">
          <button type="button" data-testid="distributed-layers-link" onClick={() => setView('layers')}>
            Layer map
          </button>
          {model.state !== 'stopped' && (
            <button type="button" className="danger" data-testid="distributed-stop" onClick={() => void stop()} disabled={stopping}>
              {stopping ? 'Stopping…' : 'Stop'}
            </button>
          )}
        </div>
        {error && (
          <p className="error" role="alert" data-testid="distributed-stop-error">
            {error}
          </p>
        )}
      </td>
    </tr>
  );
}
