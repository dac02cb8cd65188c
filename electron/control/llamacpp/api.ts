import type { ApiRegistry } from '../core/api-registry';
import type { LlamaBuildRunner } from './build-runner';
import type { DistributedService } from './service';

/**
 * Registers the `rpc:*`, `distributed:*`, `llama:binaries` and, when a build runner is given,
 * `llama:build` channels on the API registry.
 */
export function registerDistributedApi(api: ApiRegistry, service: DistributedService, builder?: LlamaBuildRunner): void {
  api.handle('rpc:list', () => service.listBackends());
  api.handle('rpc:add', (args) => service.addBackend(args.endpoint, args.name));
  api.handle('rpc:remove', (args) => service.removeBackend(args.endpoint));
  api.handle('rpc:check', (args) => service.checkBackend(args.endpoint));
  api.handle('rpc:start-local', (args) => service.startLocalRpc(args));
  api.handle('rpc:stop-local', (args) => service.stopLocalRpc(args.endpoint));
  api.handle('distributed:list', () => service.listModels());
  api.handle('distributed:start', (args) => service.startModel(args));
  api.handle('distributed:stop', (args) => service.stopModelById(args.id));
  api.handle('distributed:layers', (args) => service.layers(args.id));
  api.handle('llama:binaries', (args) => service.getBinaries(args?.refresh ?? false));
  if (builder) {
    api.handle('llama:build', async () => {
      const build = await builder.run();
      // A finished build puts new binaries in the cache, so the next lookup must not reuse the old report.
      if (build.state === 'done') await service.getBinaries(true);
      return build;
    });
  }
}
