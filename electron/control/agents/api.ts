import type { ApiRegistry } from '../core/api-registry';
import type { AgentService } from './service';

/** Registers the `chat:*` and `agents:list` channels on the API registry. */
export function registerAgentApi(api: ApiRegistry, service: AgentService): void {
  api.handle('chat:send', (args) => service.send(args));
  api.handle('chat:list', () => service.list());
  api.handle('chat:get', (args) => service.get(args.id));
  api.handle('chat:delete', (args) => service.delete(args.id));
  api.handle('agents:list', () => service.agents());
}
