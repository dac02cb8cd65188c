import { join } from 'node:path';
import { createAgentService, registerAgentApi } from './agents';
import { attachDiscovery } from './discovery/attach';
import { DistributedService, LlamaBuildRunner, registerDistributedApi } from './llamacpp';
import type { ControlPlane } from './plane';

/**
 * Wires the services that sit on top of the fleet (agents, discovery, llama.cpp distributed
 * models) into a control plane, so that Electron, `npm run serve` and the CLI's in-process mode
 * all offer the same channels.
 */
export function attachServices(plane: ControlPlane): { distributed: DistributedService } {
  const agents = createAgentService({
    router: plane.router,
    bus: plane.bus,
    dataDir: plane.config.dataDir,
    log: plane.log,
  });
  registerAgentApi(plane.api, agents);
  plane.attach({ name: 'agents', stop: () => agents.close() });

  attachDiscovery(plane);

  const distributed = createDistributed(plane);
  return { distributed };
}

/** Creates the distributed service, whose running models join the fleet as llama-server nodes. */
function createDistributed(plane: ControlPlane): DistributedService {
  const log = plane.log.child({ component: 'distributed' });
  const distributed = new DistributedService({
    dataDir: plane.config.dataDir,
    bus: plane.bus,
    log: plane.log,
    modelsDir: plane.config.modelsDir ?? join(plane.config.dataDir, 'models'),
    onAdapterUp: (node) => {
      plane.nodes
        .add({ url: node.url, name: node.name }, { kind: 'llama-server', persist: false })
        .catch((error) => log.error({ err: error, url: node.url }, `Failed to add the adapter of ${node.name} as a node`));
    },
    onAdapterDown: (url) => {
      const node = plane.nodes.findByUrl(url);
      if (!node) return;
      plane.nodes
        .remove(node.id)
        .catch((error) => log.error({ err: error, url }, 'Failed to remove a stopped adapter node'));
    },
  });
  registerDistributedApi(plane.api, distributed, new LlamaBuildRunner({ bus: plane.bus, log: plane.log }));
  // The backend list loads before the first API call can reach it: `init` is cheap and local.
  const ready = distributed.init();
  ready.catch((error) => log.error({ err: error }, 'Failed to load the RPC backend list'));
  plane.attach({ name: 'distributed', start: () => ready, stop: () => distributed.close() });
  return distributed;
}
