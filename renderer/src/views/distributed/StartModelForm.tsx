import { useId, useState, type FormEvent } from 'react';
import { useApp } from '../../store/context';
import { parseOptionalInt, parseTensorSplit } from './format';

/**
 * Starts a distributed model over the chosen RPC backends. Backends whose last check passed are
 * selected by default, and the API checks each one again before the launch.
 */
export function StartModelForm() {
  const backends = useApp((state) => state.rpcBackends);
  const startDistributed = useApp((state) => state.startDistributed);
  const [model, setModel] = useState('');
  const [deselected, setDeselected] = useState<Set<string>>(new Set());
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [ctx, setCtx] = useState('');
  const [split, setSplit] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const modelId = useId();
  const ctxId = useId();
  const splitId = useId();
  const errorId = useId();

  // A backend is checked when the user ticked it, or when its last check passed and the user did not untick it.
  const isChecked = (endpoint: string, status: string) => selected.has(endpoint) || (status === 'ok' && !deselected.has(endpoint));

  const toggle = (endpoint: string, status: string) => {
    const next = !isChecked(endpoint, status);
    setSelected((previous) => {
      const copy = new Set(previous);
      if (next) copy.add(endpoint);
      else copy.delete(endpoint);
      return copy;
    });
    setDeselected((previous) => {
      const copy = new Set(previous);
      if (next) copy.delete(endpoint);
      else copy.add(endpoint);
      return copy;
    });
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const parsedCtx = parseOptionalInt('context size', ctx, 64, 1_048_576);
    const parsedSplit = parseTensorSplit(split);
    const invalid = parsedCtx.error ?? parsedSplit.error;
    if (invalid) {
      setError(invalid);
      return;
    }
    const chosen = backends.filter((b) => isChecked(b.endpoint, b.status)).map((b) => b.endpoint);
    setBusy(true);
    const result = await startDistributed({
      model: model.trim(),
      backends: chosen,
      ctx: parsedCtx.value,
      tensorSplit: parsedSplit.value,
    });
    setBusy(false);
    if (!result.ok) setError(result.error.message);
  };

  return (
    <form className="card" data-testid="distributed-start-form" onSubmit={submit} noValidate aria-labelledby="start-model-heading">
      <h3 id="start-model-heading">Start a distributed model</h3>
      <div className="field">
        <label htmlFor={modelId}>Model (Ollama name or .gguf path)</label>
        <input
          id={modelId}
          data-testid="distributed-model-input"
          value={model}
          onChange={(event) => setModel(event.target.value)}
          placeholder="llama3.2:1b or /models/model.gguf"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
        />
      </div>
      <fieldset className="field">
        <legend>RPC backends</legend>
        {backends.length === 0 && <p className="muted">No backends yet; the model runs on this machine only.</p>}
        {backends.map((backend) => (
          <label key={backend.endpoint} className="checkbox">
            <input
              type="checkbox"
              data-testid="distributed-backend-checkbox"
              value={backend.endpoint}
              checked={isChecked(backend.endpoint, backend.status)}
              onChange={() => toggle(backend.endpoint, backend.status)}
            />
            {backend.endpoint} <span className="muted">({backend.status})</span>
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor={ctxId}>Context size (optional)</label>
        <input id={ctxId} data-testid="distributed-ctx-input" inputMode="numeric" value={ctx} onChange={(event) => setCtx(event.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={splitId}>Tensor split (optional, one number per backend)</label>
        <input
          id={splitId}
          data-testid="distributed-split-input"
          value={split}
          onChange={(event) => setSplit(event.target.value)}
          placeholder="from free memory when empty"
        />
      </div>
      <div className="actions">
        <button type="submit" className="primary" data-testid="distributed-start" disabled={busy}>
          {busy ? 'Starting…' : 'Start model'}
        </button>
      </div>
      {error && (
        <p id={errorId} className="error" role="alert" data-testid="distributed-start-error">
          {error}
        </p>
      )}
    </form>
  );
}
