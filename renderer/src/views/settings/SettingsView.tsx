import { useEffect } from 'react';
import { useApp } from '../../store/context';
import { NodeSettingsTable } from './NodeSettingsTable';
import { PrewarmEditor } from './PrewarmEditor';
import { RoutingOptions } from './RoutingOptions';
import { RoutingStatsPanel } from './RoutingStatsPanel';
import './settings.css';

/** Refresh period of routing statistics while the Settings view is open, in milliseconds. */
const STATS_POLL_MS = 5_000;

/** Routing settings saved through `routing:set` and `nodes:update`, with live routing statistics. */
export function SettingsView() {
  const loadSettings = useApp((state) => state.loadRoutingSettings);
  const loadStats = useApp((state) => state.loadRoutingStats);
  const error = useApp((state) => state.settingsError);
  const loaded = useApp((state) => state.routingSettings !== null);

  useEffect(() => {
    void loadSettings();
    void loadStats();
    const timer = setInterval(() => void loadStats(), STATS_POLL_MS);
    return () => clearInterval(timer);
  }, [loadSettings, loadStats]);

  return (
    <section aria-labelledby="settings-heading" data-testid="settings-view">
      <div className="section-header">
        <h2 id="settings-heading">Routing settings</h2>
      </div>
      {error && (
        <p className="error" role="alert" data-testid="settings-error">
          {error}
        </p>
      )}
      {!loaded && !error && <p className="muted">Loading settings…</p>}
      <RoutingOptions />
      <NodeSettingsTable />
      <PrewarmEditor />
      <RoutingStatsPanel />
    </section>
  );
}
