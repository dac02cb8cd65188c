import { useId, useState, type FormEvent } from 'react';
import { DEFAULT_SCAN_PORTS } from '../../store/discovery-slice';
import { useApp } from '../../store/context';
import { parsePorts } from './parse-ports';

/** CIDR and ports inputs with Scan and Cancel, showing the API's validation errors under the field. */
export function ScanForm() {
  const startScan = useApp((state) => state.startScan);
  const cancelScan = useApp((state) => state.cancelScan);
  const running = useApp((state) => state.scanProgress?.state === 'running');
  const [cidr, setCidr] = useState('');
  const [ports, setPorts] = useState(DEFAULT_SCAN_PORTS.join(','));
  const [cidrError, setCidrError] = useState<string | null>(null);
  const [portsError, setPortsError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const cidrId = useId();
  const portsId = useId();
  const cidrErrorId = useId();
  const portsErrorId = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setCidrError(null);
    setPortsError(null);
    const parsed = parsePorts(ports);
    if (!parsed.ok) {
      setPortsError(parsed.message);
      return;
    }
    setBusy(true);
    const result = await startScan({ cidr: cidr.trim(), ports: parsed.ports });
    setBusy(false);
    if (result.ok) return;
    if (/port/i.test(result.error.message) && !/cidr/i.test(result.error.message)) setPortsError(result.error.message);
    else setCidrError(result.error.message);
  };

  return (
    <form className="card" data-testid="scan-form" onSubmit={submit} noValidate>
      <div className="field">
        <label htmlFor={cidrId}>Address range (CIDR)</label>
        <input
          id={cidrId}
          data-testid="scan-cidr"
          value={cidr}
          onChange={(event) => setCidr(event.target.value)}
          placeholder="192.168.1.0/24"
          aria-invalid={cidrError ? true : undefined}
          aria-describedby={cidrError ? cidrErrorId : undefined}
        />
        {cidrError && (
          <p id={cidrErrorId} className="error" role="alert" data-testid="scan-cidr-error">
            {cidrError}
          </p>
        )}
      </div>
      <div className="field">
        <label htmlFor={portsId}>Ports (comma-separated)</label>
        <input
          id={portsId}
          data-testid="scan-ports"
          value={ports}
          onChange={(event) => setPorts(event.target.value)}
          aria-invalid={portsError ? true : undefined}
          aria-describedby={portsError ? portsErrorId : undefined}
        />
        {portsError && (
          <p id={portsErrorId} className="error" role="alert" data-testid="scan-ports-error">
            {portsError}
          </p>
        )}
      </div>
      <p className="muted">A scan only lists what it finds. Nothing is added until you select it and press Add selected.</p>
      <div className="actions">
        <button type="submit" className="primary" data-testid="scan-start" disabled={busy || running}>
          {running ? 'Scanning…' : 'Scan'}
        </button>
        {running && (
          <button type="button" data-testid="scan-cancel" onClick={() => void cancelScan()}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
