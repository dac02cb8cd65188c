import type { ApiRegistry } from '../core/api-registry';
import type { DiscoveryService } from './service';

/** Registers the `discovery:*` channels on the API registry. */
export function registerDiscoveryApi(api: ApiRegistry, service: DiscoveryService): void {
  api.handle('discovery:scan', (args) => service.startScan(args));
  api.handle('discovery:cancel', (args) => service.cancel(args.scanId));
  api.handle('discovery:results', (args) => service.results(args?.scanId));
  api.handle('discovery:add', (args) => service.add(args.scanId, args.ids));
  api.handle('discovery:local', () => service.discoverLocal());
}
