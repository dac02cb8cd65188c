import { useId, useState, type KeyboardEvent } from 'react';
import { useApiForm } from '../lib/use-api-form';
import { useApp } from '../store/context';

/** Form that adds a node by URL and shows the API's validation error inline. Escape cancels it. */
export function AddNodeForm({ onDone }: { onDone: () => void }) {
  const addNode = useApp((state) => state.addNode);
  const [url, setUrl] = useState('');
  const [name, setName] = useState('');
  const urlId = useId();
  const nameId = useId();
  const { error, busy, submit, firstInput, errorId } = useApiForm(
    () => addNode({ url: url.trim(), name: name.trim() || undefined }),
    onDone,
  );

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'Escape') return;
    event.preventDefault();
    event.stopPropagation();
    onDone();
  };

  return (
    <form className="card add-node" data-testid="add-node-form" onSubmit={submit} onKeyDown={onKeyDown} noValidate>
      <div className="field">
        <label htmlFor={urlId}>Node URL</label>
        <input
          id={urlId}
          ref={firstInput}
          data-testid="node-url-input"
          value={url}
          onChange={(event) => setUrl(event.target.value)}
          placeholder="http://127.0.0.1:11435"
          autoFocus
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
        />
      </div>
      <div className="field">
        <label htmlFor={nameId}>Name (optional)</label>
        <input id={nameId} data-testid="node-name-input" value={name} onChange={(event) => setName(event.target.value)} />
      </div>
      {error && (
        <p id={errorId} className="error" role="alert" data-testid="add-node-error">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" data-testid="add-node-submit" disabled={busy}>
          {busy ? 'Adding…' : 'Add node'}
        </button>
        <button type="button" onClick={onDone} data-testid="add-node-cancel">
          Cancel
        </button>
      </div>
    </form>
  );
}
