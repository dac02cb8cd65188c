import { useApp } from '../../store/context';
import { AddRpcForm } from './AddRpcForm';
import { BinariesPanel } from './BinariesPanel';
import { DistributedModelRow } from './DistributedModelRow';
import { LocalRpcForm } from './LocalRpcForm';
import { RpcBackendRow } from './RpcBackendRow';
import { StartModelForm } from './StartModelForm';
import './distributed.css';

/** Shows the llama.cpp binaries, RPC backends and distributed models, with the controls for each. */
export function DistributedView() {
  const backends = useApp((state) => state.rpcBackends);
  const models = useApp((state) => state.distributedModels);
  const setView = useApp((state) => state.setView);

  return (
    <section aria-labelledby="distributed-heading" data-testid="distributed-view" className="distributed">
      <h2 id="distributed-heading">Distributed models</h2>
      <BinariesPanel />

      <section className="card" aria-labelledby="rpc-heading" data-testid="rpc-panel">
        <h3 id="rpc-heading">RPC backends</h3>
        {backends.length === 0 ? (
          <p className="muted" data-testid="rpc-empty">
            No RPC backends. Add a remote ggml-rpc-server or start one on this machine.
          </p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Devices</th>
                  <th scope="col">Status</th>
                  <th scope="col">Runs</th>
                  <th scope="col">Restarts</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {backends.map((backend) => (
                  <RpcBackendRow key={backend.endpoint} backend={backend} />
                ))}
              </tbody>
            </table>
          </div>
        )}
        <div className="distributed-forms">
          <AddRpcForm />
          <LocalRpcForm />
        </div>
      </section>

      <section className="card" aria-labelledby="models-heading" data-testid="distributed-models-panel">
        <div className="section-header">
          <h3 id="models-heading">Running models</h3>
          <button type="button" data-testid="distributed-open-layers" onClick={() => setView('layers')}>
            Open the Layers view
          </button>
        </div>
        {models.length === 0 ? (
          <p className="muted" data-testid="distributed-empty">
            No distributed model runs.
          </p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">State</th>
                  <th scope="col">Backends</th>
                  <th scope="col">Excluded</th>
                  <th scope="col">Restarts</th>
                  <th scope="col">Last error</th>
                  <th scope="col">Load time</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {models.map((model) => (
                  <DistributedModelRow key={model.id} model={model} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <StartModelForm />
    </section>
  );
}
