// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetricsTick } from '../../shared/api/metrics';
import {
  distributedModels,
  fixtureDecision,
  fixtureSeries,
  fixtureSnapshot,
  fleetNodes,
  NOW,
  point,
  rpcBackends,
} from './dashboard-fixtures';
import { FakePlane, ok } from './fake-plane';
import { renderApp } from './render-app';

let plane: FakePlane;
let app: ReturnType<typeof renderApp>;

beforeEach(() => {
  plane = new FakePlane();
  plane.handle('nodes:list', () => ok(fleetNodes));
  plane.handle('models:list', () => ok([]));
  plane.handle('chat:list', () => ok([]));
  plane.handle('router:decisions', () =>
    ok([
      fixtureDecision(),
      fixtureDecision({ id: 'd2', model: 'qwen2.5-coder:7b', nodeId: 'n3', nodeName: 'gamma', outcome: 'error', error: 'HTTP 500', alternatives: [] }),
    ]),
  );
  plane.handle('stats:figures', () =>
    ok({ at: new Date(NOW).toISOString(), totalRequests: 7, nodes: [{ nodeId: 'n1', nodeName: 'alpha', requests: 7, errors: 1, p50LatencyMs: 410, p95LatencyMs: 880, inFlight: 0 }] }),
  );
  plane.handle('metrics:series', () => ok(fixtureSeries()));
  plane.handle('metrics:snapshot', () => ok(fixtureSnapshot()));
  plane.handle('rpc:list', () => ok(rpcBackends));
  plane.handle('distributed:list', () => ok(distributedModels));
});

afterEach(() => {
  app?.unmount();
  cleanup();
});

async function open(view: string) {
  app = renderApp(plane);
  await waitFor(() => expect(app.store.getState().nodes).toHaveLength(3));
  await waitFor(() => expect(app.store.getState().rpcBackends).toHaveLength(2));
  await waitFor(() => expect(Object.keys(app.store.getState().series)).toHaveLength(1));
  fireEvent.click(screen.getByTestId(`nav-${view}`));
}

describe('dashboard node map', () => {
  it('draws every node and RPC backend', async () => {
    await open('map');
    const nodes = screen.getAllByTestId('map-node');
    expect(nodes).toHaveLength(3);
    expect(screen.getAllByTestId('map-rpc')).toHaveLength(2);
    expect(screen.getByTestId('map-gateway')).toBeTruthy();
    expect(nodes[1].getAttribute('class')).toContain('health-fill-down');
    expect(nodes[2].getAttribute('aria-label')).toContain('1 problems');
  });

  it('labels edges with the request rate', async () => {
    await open('map');
    // 120 requests in the last minute of the fixture: 2 per second on alpha's edge.
    const rates = screen.getAllByTestId('map-edge-rate');
    expect(rates).toHaveLength(1);
    expect(rates[0].textContent).toBe('2.0/s');
  });

  it('opens node details on click', async () => {
    await open('map');
    act(() => app.store.getState().applyLogLine({ time: NOW, level: 'warn', component: 'nodes', msg: 'gamma: health check slow' }));
    fireEvent.click(screen.getAllByTestId('map-node')[2]);
    const details = screen.getByTestId('node-details');
    expect(within(details).getByText(/gamma/, { selector: 'h3' })).toBeTruthy();
    expect(within(details).getByTestId('node-details-problems').textContent).toContain('runs 40% on CPU');
    expect(within(details).getByTestId('node-details-decisions').textContent).toContain('qwen2.5-coder:7b');
    expect(within(details).getByTestId('node-details-log').textContent).toContain('health check slow');
  });

  it('opens node details with the keyboard', async () => {
    await open('map');
    const alpha = screen.getAllByTestId('map-node')[0];
    expect(alpha.getAttribute('tabindex')).toBe('0');
    fireEvent.keyDown(alpha, { key: 'Enter' });
    const details = screen.getByTestId('node-details');
    expect(within(details).getByTestId('node-details-stats').textContent).toContain('410 ms');
    expect(within(details).getAllByTestId('placement-bar')).toHaveLength(2);
    fireEvent.click(within(details).getByTestId('node-details-close'));
    expect(screen.queryByTestId('node-details')).toBeNull();
  });
});

describe('dashboard vram view', () => {
  it('shows size_vram, CPU spill and controller actions', async () => {
    await open('vram');
    const alpha = screen.getAllByTestId('vram-node')[0];
    expect(within(alpha).getByTestId('vram-capacity').textContent).toBe('6.0 GiB of 8.0 GiB GPU memory');
    expect(within(alpha).getAllByTestId('vram-segment')).toHaveLength(2);
    const spills = within(alpha).getAllByTestId('vram-spill').map((cell) => cell.textContent);
    expect(spills).toEqual(['0 B', '2.0 GiB']);
    expect(within(alpha).getAllByTestId('vram-cpu-segment')).toHaveLength(1);
    expect(within(alpha).getByTestId('vram-actions').textContent).toContain('reload qwen2.5-coder:7b: succeeded');
    const beta = screen.getAllByTestId('vram-node')[1];
    expect(within(beta).getByTestId('vram-capacity').textContent).toContain('capacity unknown');
  });

  it('adds placement actions pushed as events', async () => {
    await open('vram');
    act(() => plane.emit('placement:action', { at: new Date(NOW).toISOString(), nodeId: 'n3', nodeName: 'gamma', model: 'llama3.2:latest', action: 'prewarm', outcome: 'started', detail: 'loading' }));
    const gamma = screen.getAllByTestId('vram-node')[2];
    expect(within(gamma).getByTestId('vram-actions').textContent).toContain('prewarm llama3.2:latest: started');
  });
});

describe('dashboard layers view', () => {
  it('shows layers, MiB and backend health per device', async () => {
    await open('layers');
    const rows = screen.getAllByTestId('layers-device');
    expect(rows).toHaveLength(3);
    expect(rows[0].textContent).toContain('RPC[127.0.0.1:50052]');
    expect(rows[0].textContent).toContain('4');
    expect(rows[0].textContent).toContain('13.5');
    expect(within(rows[0]).getByTestId('layers-health').textContent).toBe('ok');
    expect(within(rows[1]).getByTestId('layers-health').textContent).toBe('unreachable: connection refused');
    expect(screen.getAllByTestId('layers-segment').map((s) => s.textContent)).toEqual(['4', '4', '1']);
  });

  it('updates from distributed:layers events', async () => {
    await open('layers');
    act(() =>
      plane.emit('distributed:layers', {
        id: 'dm1',
        layers: { offloadedLayers: 8, totalLayers: 9, offloadedBytes: 0, devices: [{ device: 'CPU', modelMiB: 30, kvMiB: 1, computeMiB: 1, layerRanges: [[0, 8]] }] },
      }),
    );
    expect(screen.getAllByTestId('layers-device')).toHaveLength(1);
    expect(screen.getAllByTestId('layers-segment')[0].textContent).toBe('9');
  });
});

describe('dashboard latency view', () => {
  it('charts each series with points', async () => {
    await open('latency');
    for (const id of ['chart-rate', 'chart-latency', 'chart-ttft', 'chart-tokens']) {
      const chart = screen.getByTestId(id);
      expect(Number(chart.getAttribute('data-points')), id).toBe(12);
      expect(chart.querySelector('path.chart-line'), id).not.toBeNull();
    }
    expect(screen.getByTestId('latency-hedges').textContent).toContain('3 won, 2 cancelled');
  });

  it('merges a metrics tick', async () => {
    await open('latency');
    const tick: MetricsTick = {
      at: NOW + 5_000,
      binMs: 5_000,
      updates: [{ nodeId: 'n2', nodeName: 'beta', points: [point(NOW)] }, { nodeId: 'n1', nodeName: 'alpha', points: [point(NOW - 5_000, { requests: 99 }), point(NOW)] }],
      hedgePoints: [point(NOW, { hedgesWon: 2 })],
      hedges: { sent: 6, won: 4, cancelled: 2, skipped: 1 },
    };
    act(() => plane.emit('metrics:tick', tick));
    expect(app.store.getState().hedgeSeries.map((p) => p.hedgesWon)).toEqual([4, 2]);
    const alpha = app.store.getState().series.n1;
    expect(alpha.points).toHaveLength(13);
    expect(alpha.points.at(-2)?.requests).toBe(99);
    expect(screen.getByTestId('latency-hedges').textContent).toContain('4 won');
    expect(screen.getByRole('option', { name: 'beta' })).toBeTruthy();
  });

  it('says so when there is no data', async () => {
    plane.handle('metrics:series', () => ok({ at: NOW, binMs: 5_000, windowSec: 900, nodes: [], hedgePoints: [] }));
    app = renderApp(plane);
    fireEvent.click(screen.getByTestId('nav-latency'));
    expect(await screen.findByTestId('latency-empty')).toBeTruthy();
  });
});

describe('dashboard routing trace', () => {
  it('filters decisions by model and node', async () => {
    await open('routing');
    await waitFor(() => expect(screen.getAllByTestId('route-row')).toHaveLength(2));
    fireEvent.change(screen.getByTestId('routing-filter-model'), { target: { value: 'qwen2.5-coder:7b' } });
    expect(screen.getAllByTestId('route-row')).toHaveLength(1);
    expect(screen.getByTestId('route-outcome').textContent).toBe('error: HTTP 500');
    fireEvent.change(screen.getByTestId('routing-filter-node'), { target: { value: 'n1' } });
    expect(screen.getByTestId('routing-filtered-empty')).toBeTruthy();
    fireEvent.change(screen.getByTestId('routing-filter-model'), { target: { value: '' } });
    const row = screen.getByTestId('route-row');
    expect(within(row).getByTestId('route-reason').textContent).toContain('gamma (score 0.31): model spills to CPU');
    expect(within(row).getByTestId('route-contributions').textContent).toContain('latency');
  });
});
