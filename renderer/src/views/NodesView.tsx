import { useState } from 'react';
import { useReturnFocus } from '../lib/use-return-focus';
import { useApp } from '../store/context';
import { AddNodeForm } from './AddNodeForm';
import { NodeCard } from './NodeCard';

export function NodesView() {
  const nodes = useApp((state) => state.nodes);
  const nodesError = useApp((state) => state.nodesError);
  const [adding, setAdding] = useState(false);
  const addButton = useReturnFocus(adding);

  return (
    <section aria-labelledby="nodes-heading" data-testid="nodes-view">
      <div className="section-header">
        <h2 id="nodes-heading">Nodes</h2>
        {!adding && (
          <button type="button" ref={addButton} className="primary" data-testid="add-node-open" onClick={() => setAdding(true)}>
            Add node
          </button>
        )}
      </div>
      {adding && <AddNodeForm onDone={() => setAdding(false)} />}
      {nodesError && (
        <p className="error" role="alert">
          {nodesError}
        </p>
      )}
      {nodes.length === 0 ? (
        <p className="muted" data-testid="nodes-empty">
          No nodes yet. Add one by URL.
        </p>
      ) : (
        <div className="node-grid">
          {nodes.map((node) => (
            <NodeCard key={node.id} node={node} />
          ))}
        </div>
      )}
    </section>
  );
}
