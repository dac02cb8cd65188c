import { useState } from 'react';
import { useApp } from '../../store/context';
import { describeKind } from './ProposalList';

/** Button that checks OLLAMA_HOST and 127.0.0.1:11434 through `discovery:local`, with its result. */
export function LocalCheck() {
  const checkLocal = useApp((state) => state.checkLocal);
  const loadNodes = useApp((state) => state.loadNodes);
  const local = useApp((state) => state.localResult);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async () => {
    setBusy(true);
    setError(null);
    const result = await checkLocal();
    setBusy(false);
    if (!result.ok) setError(result.error.message);
    else if (result.value.added.some((outcome) => outcome.ok)) void loadNodes();
  };

  return (
    <div className="card" data-testid="local-check">
      <div className="section-header">
        <h3>This machine</h3>
        <button type="button" data-testid="local-check-run" disabled={busy} onClick={() => void run()}>
          {busy ? 'Checking…' : 'Check this machine'}
        </button>
      </div>
      <p className="muted">Looks for Ollama at OLLAMA_HOST and at 127.0.0.1:11434 and adds it when found.</p>
      {error && (
        <p className="error" role="alert" data-testid="local-check-error">
          {error}
        </p>
      )}
      {local && (
        <ul className="compact-list" data-testid="local-check-result">
          {local.proposals.map((proposal) => {
            const added = local.added.find((outcome) => outcome.id === proposal.id);
            let status = 'not added';
            if (added?.ok) status = 'added';
            else if (added) status = `not added: ${added.error ?? 'unknown error'}`;
            return (
              <li key={proposal.id} data-testid="local-proposal">
                {proposal.address} ({proposal.source}): {describeKind(proposal)}, {status}
              </li>
            );
          })}
          {local.rejected.map((rejection) => (
            <li key={`${rejection.host}:${rejection.port}`} data-testid="local-rejection">
              {rejection.host}:{rejection.port}: {rejection.reason}
            </li>
          ))}
          {local.proposals.length === 0 && local.rejected.length === 0 && (
            <li className="muted">No Ollama found on this machine.</li>
          )}
        </ul>
      )}
    </div>
  );
}
