import { useId, useState, type FormEvent } from 'react';
import { useApp } from '../../store/context';
import { isLoopback, parseOptionalInt } from './format';

/** Starts a ggml-rpc-server on this machine and registers it as a backend. */
export function LocalRpcForm() {
  const startLocalRpc = useApp((state) => state.startLocalRpc);
  const [host, setHost] = useState('127.0.0.1');
  const [port, setPort] = useState('');
  const [threads, setThreads] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [started, setStarted] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const hostId = useId();
  const portId = useId();
  const threadsId = useId();
  const exposed = host.trim() !== '' && !isLoopback(host.trim());

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setStarted(null);
    const parsedPort = parseOptionalInt('port', port, 0, 65535);
    const parsedThreads = parseOptionalInt('threads', threads, 1, 1024);
    const invalid = parsedPort.error ?? parsedThreads.error;
    if (invalid) {
      setError(invalid);
      return;
    }
    setBusy(true);
    const result = await startLocalRpc({ host: host.trim(), port: parsedPort.value, threads: parsedThreads.value });
    setBusy(false);
    if (result.ok) setStarted(result.value.endpoint);
    else setError(result.error.message);
  };

  return (
    <form className="inline-form" data-testid="rpc-local-form" onSubmit={submit} noValidate>
      <div className="field">
        <label htmlFor={hostId}>Listen address</label>
        <input id={hostId} data-testid="rpc-local-host" value={host} onChange={(event) => setHost(event.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={portId}>Port (empty picks a free one)</label>
        <input id={portId} data-testid="rpc-local-port" inputMode="numeric" value={port} onChange={(event) => setPort(event.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={threadsId}>Threads (optional)</label>
        <input
          id={threadsId}
          data-testid="rpc-local-threads"
          inputMode="numeric"
          value={threads}
          onChange={(event) => setThreads(event.target.value)}
        />
      </div>
      <div className="actions">
        <button type="submit" data-testid="rpc-local-start" disabled={busy}>
          {busy ? 'Starting…' : 'Start local RPC server'}
        </button>
      </div>
      {exposed && (
        <p className="warn-text" role="note" data-testid="rpc-local-exposed-warning">
          {host.trim()} is not a loopback address. The llama.cpp RPC protocol has no authentication, so every machine that can reach the
          port can use this server.
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="rpc-local-error">
          {error}
        </p>
      )}
      {started && (
        <p className="muted" role="status" data-testid="rpc-local-started">
          Started {started}
        </p>
      )}
    </form>
  );
}
