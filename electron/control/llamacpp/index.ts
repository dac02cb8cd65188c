export { DistributedService, type DistributedServiceOptions } from './service';
export { registerDistributedApi } from './api';
export { findLlamaBinaries, llamaCacheRoot } from './binaries';
export { parseLayerMap, parseModelFacts } from './layer-map';
export { parseListDevices, checkRpcBackend } from './devices';
export { OllamaAdapter } from './adapter/server';
export { LlamaBuildRunner, parseBuildPercent } from './build-runner';
