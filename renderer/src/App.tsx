import { useEffect } from 'react';
import { applyTheme } from './lib/theme';
import { useViewHash } from './lib/view-hash';
import { useApp } from './store/context';
import type { View } from './store/types';
import { ChatView } from './views/ChatView';
import { FiguresStrip } from './views/FiguresStrip';
import { NodesView } from './views/NodesView';
import { RoutingView } from './views/RoutingView';
import { LatencyView } from './views/dashboard/LatencyView';
import { LayersView } from './views/dashboard/LayersView';
import { NodeMapView } from './views/dashboard/NodeMapView';
import { VramView } from './views/dashboard/VramView';
import { DiscoveryView } from './views/discovery/DiscoveryView';
import { DistributedView } from './views/distributed/DistributedView';
import { SettingsView } from './views/settings/SettingsView';

const VIEWS: { id: View; label: string }[] = [
  { id: 'nodes', label: 'Nodes' },
  { id: 'chat', label: 'Chat' },
  { id: 'routing', label: 'Routing' },
  { id: 'map', label: 'Map' },
  { id: 'vram', label: 'VRAM' },
  { id: 'layers', label: 'Layers' },
  { id: 'latency', label: 'Latency' },
  { id: 'distributed', label: 'Distributed' },
  { id: 'discovery', label: 'Discovery' },
  { id: 'settings', label: 'Settings' },
];

export function App() {
  const view = useApp((state) => state.view);
  const setView = useApp((state) => state.setView);
  const theme = useApp((state) => state.theme);
  const setTheme = useApp((state) => state.setTheme);
  const connection = useApp((state) => state.connection);

  useEffect(() => applyTheme(theme), [theme]);
  useViewHash(view, setView);

  let connectionLabel = 'Disconnected';
  if (connection === 'open') connectionLabel = 'Connected';
  if (connection === 'connecting') connectionLabel = 'Connecting…';

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <h1>SynapticLlamas</h1>
        <nav aria-label="Views" className="tabs">
          {VIEWS.map((entry) => (
            <button
              key={entry.id}
              type="button"
              data-testid={`nav-${entry.id}`}
              aria-current={view === entry.id ? 'page' : undefined}
              onClick={() => setView(entry.id)}
            >
              {entry.label}
            </button>
          ))}
        </nav>
        <span className={`connection connection-${connection}`} data-testid="connection-state" role="status">
          {connectionLabel}
        </span>
        <button
          type="button"
          data-testid="theme-toggle"
          aria-pressed={theme === 'dark'}
          onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
        >
          {theme === 'dark' ? 'Light theme' : 'Dark theme'}
        </button>
      </header>
      <FiguresStrip />
      <main id="main" tabIndex={-1}>
        {view === 'nodes' && <NodesView />}
        {view === 'chat' && <ChatView />}
        {view === 'routing' && <RoutingView />}
        {view === 'map' && <NodeMapView />}
        {view === 'vram' && <VramView />}
        {view === 'layers' && <LayersView />}
        {view === 'latency' && <LatencyView />}
        {view === 'distributed' && <DistributedView />}
        {view === 'discovery' && <DiscoveryView />}
        {view === 'settings' && <SettingsView />}
      </main>
    </div>
  );
}
