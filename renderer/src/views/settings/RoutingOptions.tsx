import { useState } from 'react';
import { routingStrategies, type RoutingStrategy } from '../../../../shared/api/routing';
import type { RoutingSettingsUpdate } from '../../store/settings-slice';
import { useApp } from '../../store/context';

const STRATEGY_LABELS: Record<RoutingStrategy, string> = {
  intelligent: 'Intelligent (scored)',
  round_robin: 'Round robin',
  least_loaded: 'Least loaded',
  fastest: 'Fastest',
  random: 'Random',
};

/** Strategy, hedging and placement controller switches, each saved through `routing:set` as soon as it changes. */
export function RoutingOptions() {
  const settings = useApp((state) => state.routingSettings);
  const save = useApp((state) => state.saveRoutingSettings);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (!settings) return null;

  const apply = async (update: RoutingSettingsUpdate, label: string) => {
    setBusy(true);
    setError(null);
    setSaved(null);
    const result = await save(update);
    setBusy(false);
    if (result.ok) setSaved(`Saved ${label}.`);
    else setError(result.error.message);
  };

  return (
    <div className="card" data-testid="routing-options">
      <div className="field">
        <label htmlFor="settings-strategy">Routing strategy</label>
        <select
          id="settings-strategy"
          data-testid="settings-strategy"
          value={settings.strategy}
          disabled={busy}
          onChange={(event) => void apply({ strategy: event.target.value as RoutingStrategy }, 'strategy')}
        >
          {routingStrategies.map((strategy) => (
            <option key={strategy} value={strategy}>
              {STRATEGY_LABELS[strategy]}
            </option>
          ))}
        </select>
      </div>
      <label className="settings-check">
        <input
          type="checkbox"
          data-testid="settings-hedging"
          checked={settings.hedging}
          disabled={busy}
          onChange={(event) => void apply({ hedging: event.target.checked }, 'hedging')}
        />
        Hedge every routed request (send a second copy to another node when the first is slow)
      </label>
      <label className="settings-check">
        <input
          type="checkbox"
          data-testid="settings-controller"
          checked={settings.controller}
          disabled={busy}
          onChange={(event) => void apply({ controller: event.target.checked }, 'placement controller')}
        />
        Placement controller (reloads models that spill out of GPU memory)
      </label>
      {error && (
        <p className="error" role="alert" data-testid="routing-options-error">
          {error}
        </p>
      )}
      {saved && (
        <p className="muted" role="status" data-testid="routing-options-saved">
          {saved}
        </p>
      )}
    </div>
  );
}
