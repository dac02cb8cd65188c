import { useState } from 'react';
import type { RpcBackendView } from '../../../../shared/api/distributed';
import { useReturnFocus } from '../../lib/use-return-focus';
import { useApp } from '../../store/context';
import { InlineConfirm } from '../InlineConfirm';
import { endpointHost, formatMiB, isLoopback } from './format';

/** True when the backend's RPC server accepts connections from other machines. */
export function isExposed(backend: RpcBackendView): boolean {
  return backend.local?.exposed === true || !isLoopback(endpointHost(backend.endpoint));
}

/** Renders one RPC backend's devices, status with reason and local server state, with its actions. */
export function RpcBackendRow({ backend }: { backend: RpcBackendView }) {
  const checkRpcBackend = useApp((state) => state.checkRpcBackend);
  const removeRpcBackend = useApp((state) => state.removeRpcBackend);
  const stopLocalRpc = useApp((state) => state.stopLocalRpc);
  const [busy, setBusy] = useState<'check' | 'stop' | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const removeButton = useReturnFocus(confirming);

  const run = async (kind: 'check' | 'stop' | 'remove') => {
    setError(null);
    if (kind !== 'remove') setBusy(kind);
    let result;
    if (kind === 'check') result = await checkRpcBackend(backend.endpoint);
    else if (kind === 'stop') result = await stopLocalRpc(backend.endpoint);
    else result = await removeRpcBackend(backend.endpoint);
    setBusy(null);
    setConfirming(false);
    if (!result.ok) setError(result.error.message);
  };

  const local = backend.local;
  const localRunning = local && local.state !== 'stopped' && local.state !== 'failed';

  return (
    <tr data-testid="rpc-backend" data-endpoint={backend.endpoint}>
      <td>
        <strong>{backend.endpoint}</strong>
        {backend.name && <div className="muted">{backend.name}</div>}
        {isExposed(backend) && (
          <div className="warn-text" role="note" data-testid="rpc-exposed-warning">
            Listens on a non-loopback address. The llama.cpp RPC protocol has no authentication, so anyone who can reach this port can use
            its memory and compute.
          </div>
        )}
      </td>
      <td>
        {backend.devices.length === 0 ? (
          <span className="muted">none reported</span>
        ) : (
          <ul className="compact-list">
            {backend.devices.map((device) => (
              <li key={device.name} data-testid="rpc-device">
                {device.name} {device.description && <span className="muted">({device.description})</span>}: {formatMiB(device.freeMiB)} free of{' '}
                {formatMiB(device.totalMiB)}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>
        <span className={`badge rpc-status-${backend.status}`} data-testid="rpc-status">
          {backend.status}
        </span>
        {backend.reason && <div className="muted" data-testid="rpc-reason">{backend.reason}</div>}
        {backend.problems.map((problem) => (
          <div key={`${problem.kind}-${problem.since}`} className="warn-text">
            {problem.message}
          </div>
        ))}
      </td>
      <td data-testid="rpc-origin">
        {local ? (
          <>
            local, {local.state}
            {local.pid != null && <span className="muted"> (pid {local.pid})</span>}
            {local.lastError && <div className="error">{local.lastError}</div>}
          </>
        ) : (
          'remote'
        )}
      </td>
      <td data-testid="rpc-restarts">{local ? local.restarts : '—'}</td>
      <td>
        <div className="actions">
          {confirming ? (
            <InlineConfirm
              label={`Confirm removing ${backend.endpoint}`}
              question={`Remove ${backend.endpoint}?`}
              confirmText="Remove"
              testIdPrefix="rpc-remove"
              onConfirm={() => void run('remove')}
              onCancel={() => setConfirming(false)}
            />
          ) : (
            <>
              <button type="button" data-testid="rpc-check" onClick={() => void run('check')} disabled={busy !== null}>
                {busy === 'check' ? 'Checking…' : 'Check'}
              </button>
              {localRunning && (
                <button type="button" data-testid="rpc-stop-local" onClick={() => void run('stop')} disabled={busy !== null}>
                  {busy === 'stop' ? 'Stopping…' : 'Stop server'}
                </button>
              )}
              <button type="button" ref={removeButton} data-testid="rpc-remove" onClick={() => setConfirming(true)}>
                Remove…
              </button>
            </>
          )}
        </div>
        {error && (
          <p className="error" role="alert" data-testid="rpc-row-error">
            {error}
          </p>
        )}
      </td>
    </tr>
  );
}
