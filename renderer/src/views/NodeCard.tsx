import { useState } from 'react';
import type { NodeView } from '../../../shared/types';
import { formatBytes, formatMs } from '../lib/format';
import { useReturnFocus } from '../lib/use-return-focus';
import { useApp } from '../store/context';
import { InlineConfirm } from './InlineConfirm';
import { PlacementBar } from './PlacementBar';

export function NodeCard({ node }: { node: NodeView }) {
  const removeNode = useApp((state) => state.removeNode);
  const checkNode = useApp((state) => state.checkNode);
  const [checking, setChecking] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const removeButton = useReturnFocus(confirming);

  const remove = async () => {
    const result = await removeNode(node.id);
    if (!result.ok) {
      setError(result.error.message);
      setConfirming(false);
    }
  };

  const check = async () => {
    setChecking(true);
    const result = await checkNode(node.id);
    setChecking(false);
    setError(result.ok ? null : result.error.message);
  };

  return (
    <article className="card node" data-testid="node-card" data-node-id={node.id} aria-label={`Node ${node.name}`}>
      <header className="node-header">
        <h3>{node.name}</h3>
        <span className={`health health-${node.health}`} data-testid="node-health">
          {node.health}
        </span>
      </header>
      <dl className="facts">
        <dt>URL</dt>
        <dd data-testid="node-url">{node.url}</dd>
        <dt>Kind</dt>
        <dd>{node.kind}</dd>
        <dt>Version</dt>
        <dd data-testid="node-version">{node.version ?? 'unknown'}</dd>
        <dt>In flight</dt>
        <dd>{node.inFlight}</dd>
        <dt>Latency</dt>
        <dd>{formatMs(node.ewmaLatencyMs)}</dd>
      </dl>
      {node.lastError && <p className="error">Last error: {node.lastError}</p>}
      {node.problems.length > 0 && (
        <ul className="problems" data-testid="node-problems">
          {node.problems.map((problem) => (
            <li key={problem.kind}>{problem.message}</li>
          ))}
        </ul>
      )}
      <h4>Models</h4>
      {node.models.length === 0 ? (
        <p className="muted">No models reported.</p>
      ) : (
        <ul className="models" data-testid="node-models">
          {node.models.map((model) => (
            <li key={model.digest || model.name}>
              {model.name} <span className="muted">{formatBytes(model.sizeBytes)}</span>
            </li>
          ))}
        </ul>
      )}
      <h4>Loaded</h4>
      {node.loaded.length === 0 ? (
        <p className="muted">Nothing loaded.</p>
      ) : (
        node.loaded.map((model) => <PlacementBar key={model.digest || model.name} model={model} />)
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="actions">
        {confirming ? (
          <InlineConfirm
            label={`Confirm removing ${node.name}`}
            question={`Remove ${node.name}?`}
            confirmText="Remove"
            testIdPrefix="node-remove"
            onConfirm={() => void remove()}
            onCancel={() => setConfirming(false)}
          />
        ) : (
          <>
            <button type="button" data-testid="node-check" onClick={check} disabled={checking}>
              {checking ? 'Checking…' : 'Check now'}
            </button>
            <button type="button" ref={removeButton} data-testid="node-remove" onClick={() => setConfirming(true)}>
              Remove…
            </button>
          </>
        )}
      </div>
    </article>
  );
}
