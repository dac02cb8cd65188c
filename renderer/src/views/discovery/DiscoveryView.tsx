import { useEffect } from 'react';
import { useApp } from '../../store/context';
import { LocalCheck } from './LocalCheck';
import { ProposalList } from './ProposalList';
import { ScanForm } from './ScanForm';
import { ScanProgressBar } from './ScanProgressBar';
import './discovery.css';

/** Refresh period of the running scan's results, in milliseconds. */
const RESULTS_POLL_MS = 2_000;

/** Finds Ollama nodes and rpc-servers on the network and adds the ones the user selects. */
export function DiscoveryView() {
  const loadScanResult = useApp((state) => state.loadScanResult);
  const hasScan = useApp((state) => state.scanId !== null);
  const runningScanId = useApp((state) => (state.scanProgress?.state === 'running' ? state.scanProgress.id : null));

  useEffect(() => {
    // Shows the newest scan the control plane kept, e.g. after a reload during a scan.
    if (!hasScan) void loadScanResult();
  }, [hasScan, loadScanResult]);

  useEffect(() => {
    if (!runningScanId) return undefined;
    // Polling shows proposals while the scan runs and ends the scan here even if its last event was lost.
    const timer = setInterval(() => void loadScanResult(runningScanId), RESULTS_POLL_MS);
    return () => clearInterval(timer);
  }, [runningScanId, loadScanResult]);

  return (
    <section aria-labelledby="discovery-heading" data-testid="discovery-view">
      <div className="section-header">
        <h2 id="discovery-heading">Discovery</h2>
      </div>
      <ScanForm />
      <ScanProgressBar />
      <ProposalList />
      <LocalCheck />
    </section>
  );
}
