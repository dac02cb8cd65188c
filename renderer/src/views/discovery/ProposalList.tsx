import { useState } from 'react';
import type { AddOutcome, DiscoveryProposal, ScanView } from '../../../../shared/api/discovery';
import { formatMs } from '../../lib/format';
import { useApp } from '../../store/context';

/** Describes what a proposal is: an Ollama node, a verified rpc-server, or only an open port. */
export function describeKind(proposal: DiscoveryProposal): string {
  if (!proposal.verified) return proposal.kind === 'rpc' ? 'Port open, not verified as rpc-server' : 'Port open, not verified';
  return proposal.kind === 'ollama' ? 'Ollama node' : 'rpc-server, verified';
}

function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Reports whether a proposal's address is already a node (Ollama) or an rpc backend (rpc-server). */
function useAlreadyAdded(proposal: DiscoveryProposal): boolean {
  return useApp((state) => {
    if (proposal.kind === 'rpc') return state.rpcBackends.some((backend) => backend.endpoint === proposal.address);
    const address = stripTrailingSlash(proposal.address);
    return state.nodes.some((node) => stripTrailingSlash(node.url) === address);
  });
}

function ProposalRow({
  proposal,
  checked,
  outcome,
  onToggle,
}: {
  proposal: DiscoveryProposal;
  checked: boolean;
  outcome?: AddOutcome;
  onToggle: () => void;
}) {
  const alreadyAdded = useAlreadyAdded(proposal);
  return (
    <li className="card" data-testid="proposal" data-proposal-id={proposal.id}>
      <label className="discovery-check">
        <input type="checkbox" data-testid="proposal-select" checked={checked} onChange={onToggle} />
        <strong>{proposal.address}</strong>
        {alreadyAdded && (
          <span className="badge" data-testid="proposal-added">
            already added
          </span>
        )}
      </label>
      <dl className="facts">
        <dt>Kind</dt>
        <dd data-testid="proposal-kind">{describeKind(proposal)}</dd>
        {proposal.version && (
          <>
            <dt>Version</dt>
            <dd data-testid="proposal-version">{proposal.version}</dd>
          </>
        )}
        {proposal.models && (
          <>
            <dt>Models</dt>
            <dd data-testid="proposal-models">{proposal.models.length > 0 ? proposal.models.join(', ') : 'none'}</dd>
          </>
        )}
        <dt>Detail</dt>
        <dd data-testid="proposal-detail">{proposal.detail}</dd>
        <dt>Latency</dt>
        <dd>{formatMs(proposal.latencyMs)}</dd>
      </dl>
      {outcome && (
        <p className={outcome.ok ? 'muted' : 'error'} role={outcome.ok ? 'status' : 'alert'} data-testid="proposal-outcome">
          {outcome.ok ? `Added through ${outcome.channel ?? 'the API'}` : `Not added: ${outcome.error ?? 'unknown error'}`}
        </p>
      )}
    </li>
  );
}

/** Proposals of the followed scan with checkboxes, "Add selected", and the ports that were rejected. */
export function ProposalList() {
  const scan = useApp((state) => state.scanResult);
  if (!scan) return null;
  // Keyed by scan id so a new scan starts with nothing selected.
  return <ScanProposals key={scan.id} scan={scan} />;
}

function ScanProposals({ scan }: { scan: ScanView }) {
  const addProposals = useApp((state) => state.addProposals);
  const loadNodes = useApp((state) => state.loadNodes);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [outcomes, setOutcomes] = useState<Record<string, AddOutcome>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const toggle = (id: string) => {
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  };

  const addSelected = async () => {
    setBusy(true);
    setError(null);
    const ids = scan.proposals.map((proposal) => proposal.id).filter((id) => selected.has(id));
    const result = await addProposals(ids);
    setBusy(false);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    const byId: Record<string, AddOutcome> = { ...outcomes };
    for (const outcome of result.value) byId[outcome.id] = outcome;
    setOutcomes(byId);
    setSelected(new Set([...selected].filter((id) => !byId[id]?.ok)));
    void loadNodes();
  };

  const selectedCount = scan.proposals.filter((proposal) => selected.has(proposal.id)).length;

  return (
    <section aria-labelledby="proposals-heading" data-testid="proposals">
      <div className="section-header">
        <h3 id="proposals-heading">Found ({scan.proposals.length})</h3>
        <button
          type="button"
          className="primary"
          data-testid="proposals-add"
          disabled={busy || selectedCount === 0}
          onClick={() => void addSelected()}
        >
          {busy ? 'Adding…' : `Add selected (${selectedCount})`}
        </button>
      </div>
      {error && (
        <p className="error" role="alert" data-testid="proposals-error">
          {error}
        </p>
      )}
      {scan.proposals.length === 0 ? (
        <p className="muted" data-testid="proposals-empty">
          {scan.state === 'running' ? 'Nothing found yet.' : 'No Ollama node or rpc-server found in this range.'}
        </p>
      ) : (
        <ul className="proposal-list">
          {scan.proposals.map((proposal) => (
            <ProposalRow
              key={proposal.id}
              proposal={proposal}
              checked={selected.has(proposal.id)}
              outcome={outcomes[proposal.id]}
              onToggle={() => toggle(proposal.id)}
            />
          ))}
        </ul>
      )}
      {scan.rejected.length > 0 && (
        <details data-testid="rejections">
          <summary>Open ports that are not nodes ({scan.rejected.length})</summary>
          <ul className="compact-list">
            {scan.rejected.map((rejection) => (
              <li key={`${rejection.host}:${rejection.port}`} data-testid="rejection">
                {rejection.host}:{rejection.port}: {rejection.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
