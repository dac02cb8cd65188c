import type { DeviceLayers, LayerMap, RpcBackendView } from '../../../../shared/api/distributed';
import { useApp } from '../../store/context';

/** Number of layers in a device's inclusive layer ranges. */
export function layerCount(device: DeviceLayers): number {
  return device.layerRanges.reduce((n, [from, to]) => n + (to - from + 1), 0);
}

function deviceMiB(device: DeviceLayers): number {
  return device.modelMiB + device.kvMiB + device.computeMiB;
}

/** Finds the registered backend of a device named `RPC[host:port]`. */
function backendOf(device: string, backends: RpcBackendView[]): RpcBackendView | undefined {
  const match = /^RPC\[(.+)\]$/.exec(device);
  return match ? backends.find((backend) => backend.endpoint === match[1]) : undefined;
}

/** For each distributed model, a stacked bar of layers and memory per device, with backend health. */
export function LayersView() {
  const models = useApp((state) => state.distributedModels);
  const layerMaps = useApp((state) => state.layerMaps);
  const backends = useApp((state) => state.rpcBackends);
  const ids = new Set([...models.map((m) => m.id), ...Object.keys(layerMaps)]);
  return (
    <section aria-labelledby="layers-heading" data-testid="layers-view" className="dashboard">
      <h2 id="layers-heading">Layer distribution</h2>
      {ids.size === 0 && (
        <p className="muted" data-testid="layers-empty">
          No distributed model runs. Start one over RPC backends to see its layers per device.
        </p>
      )}
      {[...ids].map((id) => {
        const model = models.find((m) => m.id === id);
        return <ModelLayers key={id} name={model?.name ?? id} state={model?.state} map={layerMaps[id] ?? model?.layers ?? null} backends={backends} />;
      })}
    </section>
  );
}

const PALETTE = ['var(--series-1)', 'var(--series-2)', 'var(--series-3)', 'var(--series-4)', 'var(--series-5)', 'var(--series-6)'];

function ModelLayers({ name, state, map, backends }: { name: string; state?: string; map: LayerMap | null; backends: RpcBackendView[] }) {
  const totalLayers = map ? map.devices.reduce((n, d) => n + layerCount(d), 0) : 0;
  return (
    <article className="card" data-testid="layers-model">
      <div className="section-header">
        <h3>{name}</h3>
        <span className="muted">
          {state ?? ''}
          {map?.offloadedLayers != null && map.totalLayers != null ? ` · ${map.offloadedLayers}/${map.totalLayers} layers offloaded` : ''}
        </span>
      </div>
      {!map ? (
        <p className="muted">The layer map arrives once llama-server has loaded the model.</p>
      ) : (
        <>
          <div className="layers-track" role="img" aria-label={`Layers of ${name} per device`}>
            {map.devices.map((device, i) => {
              const layers = layerCount(device);
              return (
                <div
                  key={device.device}
                  className="layers-segment"
                  data-testid="layers-segment"
                  style={{ width: `${totalLayers > 0 ? (layers / totalLayers) * 100 : 100 / map.devices.length}%`, background: PALETTE[i % PALETTE.length] }}
                  title={`${device.device}: ${layers} layers`}
                >
                  {layers > 0 ? layers : ''}
                </div>
              );
            })}
          </div>
          <table>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Layers</th>
                <th scope="col">Weights MiB</th>
                <th scope="col">KV cache MiB</th>
                <th scope="col">Compute MiB</th>
                <th scope="col">Total MiB</th>
                <th scope="col">Backend health</th>
              </tr>
            </thead>
            <tbody>
              {map.devices.map((device, i) => {
                const backend = backendOf(device.device, backends);
                const health = device.device.startsWith('RPC[') ? (backend?.status ?? 'not registered') : 'local';
                return (
                  <tr key={device.device} data-testid="layers-device">
                    <td>
                      <span className="swatch" style={{ background: PALETTE[i % PALETTE.length] }} aria-hidden="true" /> {device.device}
                    </td>
                    <td>
                      {layerCount(device)}
                      {device.layerRanges.length > 0 && <span className="muted"> ({device.layerRanges.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(', ')})</span>}
                    </td>
                    <td>{device.modelMiB.toFixed(1)}</td>
                    <td>{device.kvMiB.toFixed(1)}</td>
                    <td>{device.computeMiB.toFixed(1)}</td>
                    <td>{deviceMiB(device).toFixed(1)}</td>
                    <td data-testid="layers-health" className={health === 'ok' || health === 'local' ? '' : 'error'}>
                      {health}
                      {backend?.reason ? `: ${backend.reason}` : ''}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </article>
  );
}
