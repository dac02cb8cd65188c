export { DiscoveryService, type DiscoveryServiceOptions, type ApiInvoker } from './service';
export { registerDiscoveryApi } from './api';
export { parseCidr, isLoopback } from './cidr';
export { parseOllamaHost } from './ollama-host';
export { fingerprintOllama } from './fingerprint';
export { probeTcp, type TcpProbe, type TcpProbeOutcome } from './tcp-probe';
export { runScan, type RpcCheck, type ScanPlan } from './scanner';
export { rpcCheckFromLlamaServer } from './rpc-check';
export { attachDiscovery, type DiscoveryHost } from './attach';
