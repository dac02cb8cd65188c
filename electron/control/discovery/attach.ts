import type { GatewayStatus } from '../../../shared/types';
import type { ApiRegistry } from '../core/api-registry';
import type { EventBus } from '../core/event-bus';
import type { Logger } from '../core/logger';
import { findLlamaBinaries } from '../llamacpp/binaries';
import { isLoopbackHost } from '../nodes/node-url';
import { registerDiscoveryApi } from './api';
import { rpcCheckFromLlamaServer } from './rpc-check';
import type { RpcCheck } from './scanner';
import { DiscoveryService } from './service';

/** The parts of `ControlPlane` that discovery needs. */
export type DiscoveryHost = {
  api: ApiRegistry;
  bus: EventBus;
  log: Logger;
  host: string;
  gateway: { status(): GatewayStatus };
  attach(attachment: { name: string; stop(): Promise<void> | void }): void;
};

/**
 * Creates the discovery service for a control plane, registers the `discovery:*` channels and
 * stops running scans when the plane stops. The rpc device check looks for llama-server on first
 * use; without it open rpc ports are listed as not verified.
 */
export function attachDiscovery(plane: DiscoveryHost, options: { checkRpc?: RpcCheck } = {}): DiscoveryService {
  const service = new DiscoveryService({
    log: plane.log,
    events: plane.bus,
    api: plane.api,
    checkRpc: options.checkRpc ?? lazyRpcCheck(),
    isSelf: (host, port) => {
      const status = plane.gateway.status();
      return status.port === port && (isLoopbackHost(host) || host === plane.host);
    },
  });
  registerDiscoveryApi(plane.api, service);
  plane.attach({ name: 'discovery', stop: () => service.stop() });
  return service;
}

function lazyRpcCheck(): RpcCheck {
  let check: Promise<RpcCheck | null> | undefined;
  return async (hostPort, signal) => {
    check ??= findLlamaBinaries().then((found) =>
      found.llamaServer ? rpcCheckFromLlamaServer(found.llamaServer.path) : null,
    );
    const resolved = await check;
    if (!resolved) return { verified: false, detail: 'port open, not verified (llama-server not found)' };
    return resolved(hostPort, signal);
  };
}
