// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
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
import { mapHeight, ringLayout, rpcRowLayout } from '../../renderer/src/views/dashboard/NodeMapView';
import type { ChartRow } from '../../renderer/src/views/dashboard/series-math';
import { formatAxisValue, leftPadding, TimeSeriesChart } from '../../renderer/src/views/dashboard/TimeSeriesChart';
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

type Box = { left: number; right: number; top: number; bottom: number };

/** Estimated box of 12px map text centred at (x, baseline y), in viewBox units. */
function textBox(x: number, y: number, text: string): Box {
  const half = (text.length * 7.5) / 2;
  return { left: x - half, right: x + half, top: y - 12, bottom: y + 4 };
}

function overlaps(a: Box, b: Box): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

function numberAttr(element: Element, name: string): number {
  return Number(element.getAttribute(name));
}

describe('dashboard node map layout', () => {
  it('keeps RPC backends clear of the top node', async () => {
    await open('map');
    const nodeBoxes = screen.getAllByTestId('map-node').flatMap((node) => {
      const circle = node.querySelector('circle')!;
      const cx = numberAttr(circle, 'cx');
      const cy = numberAttr(circle, 'cy');
      const boxes = [{ left: cx - 16, right: cx + 16, top: cy - 16, bottom: cy + 16 }];
      for (const text of node.querySelectorAll('text')) boxes.push(textBox(numberAttr(text, 'x'), numberAttr(text, 'y'), text.textContent ?? ''));
      return boxes;
    });
    const rpcGroups = screen.getAllByTestId('map-rpc');
    expect(rpcGroups).toHaveLength(2);
    const viewBoxHeight = Number(screen.getByRole('group', { name: 'Fleet map' }).getAttribute('viewBox')!.split(' ')[3]);
    for (const group of rpcGroups) {
      const rect = group.querySelector('rect')!;
      const text = group.querySelector('text')!;
      const square = { left: numberAttr(rect, 'x'), right: numberAttr(rect, 'x') + 18, top: numberAttr(rect, 'y'), bottom: numberAttr(rect, 'y') + 18 };
      const label = textBox(numberAttr(text, 'x'), numberAttr(text, 'y'), text.textContent ?? '');
      for (const box of nodeBoxes) {
        expect(overlaps(square, box), `square of ${text.textContent}`).toBe(false);
        expect(overlaps(label, box), `label of ${text.textContent}`).toBe(false);
      }
      expect(label.bottom, `label of ${text.textContent} inside the map`).toBeLessThanOrEqual(viewBoxHeight);
    }
  });

  it('separates nodes and RPC backends at any count', () => {
    const longLabel = '127.0.0.100:50052';
    for (const nodeCount of [1, 2, 3, 5, 8, 16, 17, 24]) {
      for (const rpcCount of [1, 2, 6, 7, 13]) {
        const nodeBoxes = ringLayout(nodeCount, 360, 212).flatMap((spot) => [
          { left: spot.x - 16, right: spot.x + 16, top: spot.y - 16, bottom: spot.y + 16 },
          textBox(spot.x, spot.y + 30, 'node-name-long'),
          textBox(spot.x, spot.y + 43, '10.0/s'),
        ]);
        const rpcBoxes = rpcRowLayout(rpcCount).flatMap((spot) => [
          { left: spot.x - 9, right: spot.x + 9, top: spot.y - 9, bottom: spot.y + 9 },
          textBox(spot.x, spot.y + 24, longLabel),
        ]);
        for (const rpc of rpcBoxes) {
          for (const node of nodeBoxes) expect(overlaps(rpc, node), `${nodeCount} nodes, ${rpcCount} backends`).toBe(false);
          expect(rpc.bottom, `${rpcCount} backends fit the height`).toBeLessThanOrEqual(mapHeight(rpcCount));
        }
        for (let i = 0; i < rpcBoxes.length; i++) {
          for (let j = i + 1; j < rpcBoxes.length; j++) expect(overlaps(rpcBoxes[i], rpcBoxes[j]), `backend boxes ${i} and ${j}`).toBe(false);
        }
      }
    }
  });

  it('shortens long RPC labels but keeps the full title', async () => {
    plane.handle('rpc:list', () => ok([rpcBackends[0], { ...rpcBackends[1], name: 'a-very-long-backend-name-on-host-b' }]));
    await open('map');
    const groups = screen.getAllByTestId('map-rpc');
    const labels = groups.map((g) => g.querySelector('text')!.textContent ?? '');
    expect(labels.every((label) => label.length <= 20)).toBe(true);
    expect(labels).toContain('a-very-long-backend…');
    const titles = groups.map((g) => g.querySelector('title')!.textContent ?? '');
    expect(titles.some((title) => title.includes('a-very-long-backend-name-on-host-b'))).toBe(true);
  });
});

function latencyRows(values: number[]): ChartRow[] {
  return values.map((value, i) => ({
    t: NOW + i * 5_000,
    p50: value / 4,
    p95: value / 2,
    p99: value,
    ttft: null,
    tokensPerSec: null,
    rate: 0,
    errors: 0,
    hedgesWon: 0,
    hedgesCancelled: 0,
  }));
}

describe('time series chart y axis', () => {
  it('formats large values compactly', () => {
    const cases: [number, string, string][] = [
      [0, ' ms', '0 ms'],
      [250, ' ms', '250 ms'],
      [0.5, ' ms', '0.5 ms'],
      [1_000, ' ms', '1 s'],
      [1_500, ' ms', '1.5 s'],
      [50_000, ' ms', '50 s'],
      [100_000, ' ms', '100 s'],
      [600_000, ' ms', '10 min'],
      [5_000_000, ' ms', '83.3 min'],
      [9_999, '', '9999'],
      [20_000, '', '20k'],
      [50_000_000, '', '50M'],
      [0.5, '', '0.5'],
    ];
    for (const [value, unit, expected] of cases) expect(formatAxisValue(value, unit), `${value}${unit}`).toBe(expected);
  });

  it('widens the left padding for long labels', () => {
    expect(leftPadding(['0 ms', '50 ms'])).toBe(60);
    expect(leftPadding(['100000000 ms'])).toBeGreaterThanOrEqual(12 * 7 + 6);
  });

  it('draws a 100 s label in full', () => {
    render(<TimeSeriesChart title="Latency" testId="chart-big" unit=" ms" rows={latencyRows([20_000, 100_000])} lines={[{ key: 'p99', name: 'p99', color: 'red' }]} />);
    const labels = screen.getAllByTestId('chart-y-label').map((g) => g.querySelector('text')!);
    expect(labels.map((text) => text.textContent)).toEqual(['0 ms', '50 s', '100 s']);
    for (const text of labels) {
      // Right-aligned labels end at x, so at about 7 units a character each must start inside the viewBox.
      expect(numberAttr(text, 'x') - (text.textContent ?? '').length * 7, text.textContent ?? '').toBeGreaterThanOrEqual(0);
    }
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

  it('drops a model on distributed:removed', async () => {
    await open('layers');
    expect(screen.getAllByTestId('layers-model')).toHaveLength(1);
    act(() => plane.emit('distributed:removed', { id: 'dm1' }));
    expect(screen.queryAllByTestId('layers-model')).toHaveLength(0);
    expect(screen.getByTestId('layers-empty')).toBeTruthy();
    expect(app.store.getState().layerMaps).toEqual({});
  });

  it('drops a stopped model after the stop call', async () => {
    plane.handle('distributed:stop', () => ok({ stopped: true }));
    await open('layers');
    plane.handle('distributed:list', () => ok([]));
    await act(() => app.store.getState().stopDistributed('dm1'));
    expect(plane.callsTo('distributed:stop')).toEqual([{ id: 'dm1' }]);
    expect(screen.queryAllByTestId('layers-model')).toHaveLength(0);
    expect(screen.getByTestId('layers-empty')).toBeTruthy();
  });

  it('ignores a malformed distributed:removed event', async () => {
    await open('layers');
    act(() => plane.emit('distributed:removed', null));
    act(() => plane.emit('distributed:removed', { id: 7 }));
    expect(screen.getAllByTestId('layers-model')).toHaveLength(1);
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
