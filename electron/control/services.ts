import { createAgentService, registerAgentApi } from './agents';
import { attachDiscovery } from './discovery/attach';
import type { ControlPlane } from './plane';

/**
 * Wires the services that sit on top of the fleet (agents, discovery) into a control plane, so
 * that Electron, `npm run serve` and the CLI's in-process mode all offer the same channels.
 */
export function attachServices(plane: ControlPlane): void {
  const agents = createAgentService({
    router: plane.router,
    bus: plane.bus,
    dataDir: plane.config.dataDir,
    log: plane.log.child({ component: 'agents' }),
  });
  registerAgentApi(plane.api, agents);
  plane.attach({ name: 'agents', stop: () => agents.close() });

  attachDiscovery(plane);
}
