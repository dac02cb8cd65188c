import type { DistributedModelView, RpcBackendView } from '../../shared/api/distributed';
import type { MetricsPoint, MetricsSeries, MetricsSnapshot } from '../../shared/api/metrics';
import type { NodeView, RouteDecision } from '../../shared/types';

export const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
export const GIB = 1024 ** 3;

export function fixtureNode(overrides: Partial<NodeView> = {}): NodeView {
  return {
    id: 'n1',
    url: 'http://127.0.0.1:11501',
    name: 'alpha',
    kind: 'simulated',
    health: 'up',
    consecutiveFailures: 0,
    models: [{ name: 'llama3.2:latest', digest: 'sha256:aa', sizeBytes: 2 * GIB }],
    loaded: [],
    inFlight: 0,
    problems: [],
    ...overrides,
  };
}

export const fleetNodes: NodeView[] = [
  fixtureNode({
    gpuVramBytes: 8 * GIB,
    loaded: [
      { name: 'llama3.2:latest', digest: 'sha256:aa', sizeBytes: 2 * GIB, sizeVramBytes: 2 * GIB, placement: 'gpu' },
      { name: 'qwen2.5-coder:7b', digest: 'sha256:bb', sizeBytes: 6 * GIB, sizeVramBytes: 4 * GIB, placement: 'partial' },
    ],
  }),
  fixtureNode({ id: 'n2', name: 'beta', url: 'http://127.0.0.1:11502', health: 'down', lastError: 'connection refused' }),
  fixtureNode({
    id: 'n3',
    name: 'gamma',
    url: 'http://127.0.0.1:11503',
    health: 'degraded',
    problems: [{ kind: 'cpu-spill', message: 'qwen2.5-coder:7b runs 40% on CPU', since: new Date(NOW - 60_000).toISOString() }],
  }),
];

export function point(t: number, overrides: Partial<MetricsPoint> = {}): MetricsPoint {
  return {
    t,
    spanMs: 5_000,
    requests: 10,
    errors: 1,
    p50Ms: 400,
    p95Ms: 900,
    p99Ms: 1200,
    ttftP50Ms: 120,
    tokensPerSec: 35,
    tokens: 500,
    hedgesWon: 1,
    hedgesCancelled: 2,
    ...overrides,
  };
}

export function fixtureSeries(): MetricsSeries {
  const points = Array.from({ length: 12 }, (_, i) => point(NOW - (12 - i) * 5_000));
  return { at: NOW, binMs: 5_000, windowSec: 900, nodes: [{ nodeId: 'n1', nodeName: 'alpha', points }], hedgePoints: [point(NOW - 10_000, { hedgesWon: 4 })] };
}

export function fixtureSnapshot(): MetricsSnapshot {
  return {
    at: NOW,
    binMs: 5_000,
    nodes: [],
    hedges: { sent: 5, won: 3, cancelled: 2, skipped: 1 },
    placementActions: [
      { at: new Date(NOW - 30_000).toISOString(), nodeId: 'n1', nodeName: 'alpha', model: 'qwen2.5-coder:7b', action: 'reload', outcome: 'succeeded', placement: 'partial', detail: 'reloaded with num_gpu 20' },
    ],
    breakers: [{ nodeId: 'n2', state: 'open', reason: '5 failures in a row', at: new Date(NOW).toISOString() }],
    layers: {},
  };
}

export const rpcBackends: RpcBackendView[] = [
  { endpoint: '127.0.0.1:50052', addedAt: new Date(NOW).toISOString(), status: 'ok', devices: [], problems: [] },
  { endpoint: '127.0.0.1:50053', addedAt: new Date(NOW).toISOString(), status: 'unreachable', reason: 'connection refused', devices: [], problems: [] },
];

export const distributedModels: DistributedModelView[] = [
  {
    id: 'dm1',
    name: 'tiny-llama-8L',
    modelPath: '/models/tiny-llama-8L.gguf',
    state: 'ready',
    url: 'http://127.0.0.1:11503',
    backends: ['127.0.0.1:50052', '127.0.0.1:50053'],
    excluded: [],
    args: [],
    restarts: 0,
    startedAt: new Date(NOW).toISOString(),
    layers: {
      offloadedLayers: 9,
      totalLayers: 9,
      offloadedBytes: 40 * 1024 * 1024,
      devices: [
        { device: 'RPC[127.0.0.1:50052]', modelMiB: 10.5, kvMiB: 2, computeMiB: 1, layerRanges: [[0, 3]] },
        { device: 'RPC[127.0.0.1:50053]', modelMiB: 12, kvMiB: 2, computeMiB: 1, layerRanges: [[4, 7]] },
        { device: 'CPU', modelMiB: 3, kvMiB: 0, computeMiB: 1, layerRanges: [[8, 8]] },
      ],
    },
  },
];

export function fixtureDecision(overrides: Partial<RouteDecision> = {}): RouteDecision {
  return {
    id: 'd1',
    at: new Date(NOW).toISOString(),
    endpoint: '/api/chat',
    model: 'llama3.2:latest',
    nodeId: 'n1',
    nodeName: 'alpha',
    strategy: 'intelligent',
    reason: 'model loaded on GPU',
    factors: { loaded: 1, latency: 0.5 },
    alternatives: [{ nodeId: 'n3', nodeName: 'gamma', score: 0.31, reason: 'model spills to CPU' }],
    attempt: 1,
    outcome: 'ok',
    latencyMs: 420,
    ...overrides,
  };
}
