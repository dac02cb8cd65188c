import { useId, useState } from 'react';
import { useApiForm } from '../../lib/use-api-form';
import { useApp } from '../../store/context';

/** Adds a remote RPC backend by `host:port`. The API validates the endpoint, and its error shows inline. */
export function AddRpcForm() {
  const addRpcBackend = useApp((state) => state.addRpcBackend);
  const [endpoint, setEndpoint] = useState('');
  const [name, setName] = useState('');
  const endpointId = useId();
  const nameId = useId();
  const { error, busy, submit, firstInput, errorId } = useApiForm(
    () => addRpcBackend({ endpoint: endpoint.trim(), name: name.trim() || undefined }),
    () => {
      setEndpoint('');
      setName('');
    },
  );

  return (
    <form className="inline-form" data-testid="rpc-add-form" onSubmit={submit} noValidate>
      <div className="field">
        <label htmlFor={endpointId}>RPC backend (host:port)</label>
        <input
          id={endpointId}
          ref={firstInput}
          data-testid="rpc-endpoint-input"
          value={endpoint}
          onChange={(event) => setEndpoint(event.target.value)}
          placeholder="192.168.1.20:50052"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
        />
      </div>
      <div className="field">
        <label htmlFor={nameId}>Name (optional)</label>
        <input id={nameId} data-testid="rpc-name-input" value={name} onChange={(event) => setName(event.target.value)} />
      </div>
      <div className="actions">
        <button type="submit" data-testid="rpc-add-submit" disabled={busy}>
          {busy ? 'Adding…' : 'Add backend'}
        </button>
      </div>
      {error && (
        <p id={errorId} className="error" role="alert" data-testid="rpc-add-error">
          {error}
        </p>
      )}
    </form>
  );
}
