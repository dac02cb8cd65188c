import type { ApiClient } from './client';
import { CliError } from './errors';

/**
 * Starts a control plane in this process with its gateway on a free loopback port, and wires in
 * discovery and the agents when the plane does not register them itself. `modelsDir` is the GGUF
 * folder of its embedded node; without it the plane uses `<dataDir>/models`.
 */
export async function startLocalPlane(dataDir: string, modelsDir?: string): Promise<ApiClient> {
  const [{ ControlPlane }, { createRootLogger }, { attachDiscovery }, agents] = await Promise.all([
    import('../../control/plane'),
    import('../../control/core/logger'),
    import('../../control/discovery/attach'),
    import('../../control/agents'),
  ]);
  // The terminal belongs to the command's output, so the plane logs only warnings and errors.
  const log = createRootLogger({ level: process.env.SYNAPTIC_LOG_LEVEL ?? 'warn' });
  const plane = new ControlPlane({ dataDir, host: '127.0.0.1', port: 0, log, ...(modelsDir ? { modelsDir } : {}) });

  const registered = new Set(plane.api.registered());
  if (!registered.has('discovery:scan')) attachDiscovery(plane);
  if (!registered.has('chat:send')) {
    const service = agents.createAgentService({ router: plane.router, bus: plane.bus, dataDir, log });
    agents.registerAgentApi(plane.api, service);
    plane.attach({ name: 'agents', stop: () => service.close() });
  }

  try {
    await plane.start();
  } catch (error) {
    await plane.stop().catch(() => undefined);
    throw new CliError(`starting the control plane with data folder ${dataDir} failed: ${(error as Error).message}`);
  }
  return {
    mode: 'local',
    target: dataDir,
    invoke: (channel, args) => plane.api.invoke(channel, args),
    close: () => plane.stop(),
  };
}
