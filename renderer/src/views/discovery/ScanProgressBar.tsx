import { useApp } from '../../store/context';

const STATE_LABELS = { running: 'Scanning', done: 'Done', cancelled: 'Cancelled', failed: 'Failed' } as const;

/** Progress of the followed scan from `discovery:progress` events. */
export function ScanProgressBar() {
  const progress = useApp((state) => state.scanProgress);
  if (!progress) return null;
  const percent = progress.total > 0 ? Math.round((progress.probed / progress.total) * 100) : 100;
  return (
    <div className="card" data-testid="scan-progress" data-state={progress.state}>
      <p>
        <strong data-testid="scan-state">{STATE_LABELS[progress.state]}</strong> {progress.cidr} on ports{' '}
        {progress.ports.join(', ')}: {progress.probed} of {progress.total} probed, {progress.found} found,{' '}
        {progress.rejectedCount} rejected
      </p>
      <progress
        data-testid="scan-progress-bar"
        max={Math.max(progress.total, 1)}
        value={progress.total > 0 ? progress.probed : 1}
        aria-label={`Scan progress ${percent}%`}
        className="scan-progress-bar"
      />
      {progress.error && (
        <p className="error" role="alert" data-testid="scan-failure">
          {progress.error}
        </p>
      )}
    </div>
  );
}
