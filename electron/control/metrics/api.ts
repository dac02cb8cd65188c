import type { ApiRegistry } from '../core/api-registry';
import type { Metrics } from './metrics';

/** Registers the `metrics:*` channels. */
export function registerMetricsApi(api: ApiRegistry, metrics: Metrics): void {
  api.handle('metrics:series', (args) => metrics.series(args.windowSec, args.nodeId));
  api.handle('metrics:snapshot', () => metrics.snapshot());
}
