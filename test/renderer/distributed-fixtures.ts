import type { DistributedModelView, LlamaBinariesView, RpcBackendView } from '../../shared/api/distributed';
import { FakePlane, ok } from './fake-plane';

export function backend(overrides: Partial<RpcBackendView> = {}): RpcBackendView {
  return {
    endpoint: '127.0.0.1:50052',
    addedAt: '2026-12-04T10:00:00.000Z',
    status: 'ok',
    checkedAt: '2026-12-04T10:00:05.000Z',
    devices: [{ name: 'RPC0', description: 'CPU', totalMiB: 15_872, freeMiB: 12_288 }],
    problems: [],
    ...overrides,
  };
}

export function localBackend(overrides: Partial<RpcBackendView> = {}): RpcBackendView {
  return backend({
    endpoint: '127.0.0.1:50060',
    name: 'local 127.0.0.1:50060',
    local: { pid: 4242, state: 'ready', restarts: 2, exposed: false },
    ...overrides,
  });
}

export function model(overrides: Partial<DistributedModelView> = {}): DistributedModelView {
  return {
    id: 'dist-1',
    name: 'tiny-llama-8L',
    modelPath: '/models/tiny-llama-8L.gguf',
    state: 'ready',
    url: 'http://127.0.0.1:41001',
    backends: ['127.0.0.1:50052', '127.0.0.1:50060'],
    excluded: [{ endpoint: '10.0.0.9:50052', reason: 'connection refused' }],
    tensorSplit: [1, 1],
    ctx: 512,
    args: [],
    restarts: 1,
    lastError: 'llama-server exited with code 1',
    loadMs: 1840,
    layers: null,
    startedAt: '2026-12-04T10:01:00.000Z',
    ...overrides,
  };
}

export const BINARIES: LlamaBinariesView = {
  llamaServer: { kind: 'llama-server', path: '/cache/bin/llama-server', version: '6500 (abc1234)', source: 'cache' },
  rpcServer: { kind: 'rpc-server', path: '/cache/bin/ggml-rpc-server', version: null, source: 'cache' },
  searched: ['/usr/local/bin', '/cache/bin'],
};

export const NO_BINARIES: LlamaBinariesView = {
  llamaServer: null,
  rpcServer: null,
  searched: ['/usr/local/bin'],
  hint: 'run `npm run llama:build` to build llama-server and ggml-rpc-server',
};

/** Creates a fake plane with the channels every view loads on connect, plus the distributed ones. */
export function distributedPlane(options: { backends?: RpcBackendView[]; models?: DistributedModelView[]; binaries?: LlamaBinariesView } = {}): FakePlane {
  const plane = new FakePlane();
  plane.handle('nodes:list', () => ok([]));
  plane.handle('models:list', () => ok([]));
  plane.handle('chat:list', () => ok([]));
  plane.handle('router:decisions', () => ok([]));
  plane.handle('stats:figures', () => ok({ at: new Date().toISOString(), totalRequests: 0, nodes: [] }));
  plane.handle('rpc:list', () => ok(options.backends ?? []));
  plane.handle('distributed:list', () => ok(options.models ?? []));
  plane.handle('llama:binaries', () => ok(options.binaries ?? BINARIES));
  return plane;
}
