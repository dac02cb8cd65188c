// @vitest-environment happy-dom
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RoutingSettings, RoutingStats } from '../../shared/api/routing';
import { FakePlane, nodeView, ok } from './fake-plane';
import { renderApp } from './render-app';


const GIB = 1024 ** 3;

let plane: FakePlane;
let app: ReturnType<typeof renderApp>;
let settings: RoutingSettings;

const stats: RoutingStats = {
  strategy: 'intelligent',
  hedges: { requests: 12, sent: 5, won: 3, cancelled: 2, skippedByBudget: 1 },
  breakers: [
    { nodeId: 'n1', state: 'closed' },
    { nodeId: 'n2', state: 'half_open' },
  ],
  placementActions: [
    {
      at: '2026-12-04T10:00:00.000Z',
      nodeId: 'n1',
      nodeName: 'alpha',
      model: 'tiny:latest',
      action: 'advise',
      outcome: 'advised',
      detail: 'older action',
    },
    {
      at: '2026-12-04T10:05:00.000Z',
      nodeId: 'n2',
      nodeName: 'beta',
      model: 'tiny:latest',
      action: 'reload',
      outcome: 'succeeded',
      detail: 'all layers on GPU after reload',
    },
  ],
  learned: [
    {
      nodeId: 'n1',
      model: 'tiny:latest',
      taskType: 'generation',
      ttftMs: 120,
      tokensPerSec: 42.25,
      latencyMs: 900,
      successRate: 0.95,
      samples: 20,
    },
  ],
};

beforeEach(() => {
  settings = { strategy: 'intelligent', hedging: false, controller: true, prewarm: [], nodeParallel: { n2: 4 } };
  plane = new FakePlane();
  plane.handle('nodes:list', () => ok([nodeView(), nodeView({ id: 'n2', name: 'beta', gpuVramBytes: 24 * GIB })]));
  plane.handle('models:list', () => ok([{ name: 'tiny:latest', nodes: ['n1'], loadedOn: [] }]));
  plane.handle('chat:list', () => ok([]));
  plane.handle('router:decisions', () => ok([]));
  plane.handle('stats:figures', () => ok({ at: new Date().toISOString(), totalRequests: 0, nodes: [] }));
  plane.handle('routing:settings', () => ok(settings));
  plane.handle('routing:stats', () => ok(stats));
  plane.handle('routing:set', (args) => {
    settings = { ...settings, ...(args as Partial<RoutingSettings>) };
    return ok(settings);
  });
});

afterEach(() => {
  app?.unmount();
  cleanup();
});

async function openSettings() {
  app = renderApp(plane);
  fireEvent.click(screen.getByTestId('nav-settings'));
  await screen.findByTestId('routing-options');
}

describe('settings view', () => {
  it('saves strategy and switches', async () => {
    await openSettings();
    const select = screen.getByLabelText('Routing strategy') as HTMLSelectElement;
    expect(select.value).toBe('intelligent');
    expect([...select.options].map((option) => option.value)).toEqual([
      'intelligent',
      'round_robin',
      'least_loaded',
      'fastest',
      'random',
    ]);

    fireEvent.change(select, { target: { value: 'fastest' } });
    await screen.findByTestId('routing-options-saved');
    fireEvent.click(screen.getByTestId('settings-hedging'));
    await waitFor(() => expect(plane.callsTo('routing:set')).toHaveLength(2));
    fireEvent.click(screen.getByTestId('settings-controller'));
    await waitFor(() => expect(plane.callsTo('routing:set')).toHaveLength(3));

    expect(plane.callsTo('routing:set')).toEqual([{ strategy: 'fastest' }, { hedging: true }, { controller: false }]);
    await waitFor(() => expect((screen.getByTestId('settings-controller') as HTMLInputElement).checked).toBe(false));
    expect((screen.getByTestId('settings-hedging') as HTMLInputElement).checked).toBe(true);
    expect(select.value).toBe('fastest');
  });

  it('shows a save error', async () => {
    plane.handle('routing:set', () => ({
      ok: false,
      error: { code: 'internal', message: "cannot write routing.json: EACCES" },
    }));
    await openSettings();
    fireEvent.change(screen.getByLabelText('Routing strategy'), { target: { value: 'random' } });

    const error = await screen.findByTestId('routing-options-error');
    expect(error.textContent).toBe('cannot write routing.json: EACCES');
    expect((screen.getByLabelText('Routing strategy') as HTMLSelectElement).value).toBe('intelligent');
  });

  it('saves per-node slots and GPU memory', async () => {
    plane.handle('nodes:update', (args) => {
      const { id, gpuVramBytes } = args as { id: string; gpuVramBytes: number | null };
      return ok(nodeView({ id, name: id === 'n1' ? 'alpha' : 'beta', gpuVramBytes: gpuVramBytes ?? undefined }));
    });
    await openSettings();
    const rows = await screen.findAllByTestId('node-settings-row');
    expect(rows).toHaveLength(2);
    expect((within(rows[1]).getByTestId('node-parallel-input') as HTMLInputElement).value).toBe('4');
    expect((within(rows[1]).getByTestId('node-gpu-input') as HTMLInputElement).value).toBe('24');

    fireEvent.change(within(rows[0]).getByLabelText('Parallel slots for alpha'), { target: { value: '2' } });
    fireEvent.change(within(rows[0]).getByLabelText('GPU memory in GiB for alpha'), { target: { value: '7.5' } });
    fireEvent.click(within(rows[0]).getByTestId('node-settings-save'));

    await within(rows[0]).findByTestId('node-settings-saved');
    expect(plane.callsTo('routing:set')).toEqual([{ nodeParallel: { n1: 2, n2: 4 } }]);
    expect(plane.callsTo('nodes:update')).toEqual([{ id: 'n1', gpuVramBytes: 7.5 * GIB }]);

    fireEvent.change(within(rows[1]).getByLabelText('Parallel slots for beta'), { target: { value: '' } });
    fireEvent.change(within(rows[1]).getByLabelText('GPU memory in GiB for beta'), { target: { value: '' } });
    fireEvent.click(within(rows[1]).getByTestId('node-settings-save'));
    await waitFor(() => expect(plane.callsTo('nodes:update')).toHaveLength(2));
    expect(plane.callsTo('routing:set')[1]).toEqual({ nodeParallel: { n1: 2 } });
    expect(plane.callsTo('nodes:update')[1]).toEqual({ id: 'n2', gpuVramBytes: null });
  });

  it('rejects bad node capacity input', async () => {
    await openSettings();
    const rows = await screen.findAllByTestId('node-settings-row');
    const slots = within(rows[0]).getByLabelText('Parallel slots for alpha');
    fireEvent.change(slots, { target: { value: '0' } });
    fireEvent.click(within(rows[0]).getByTestId('node-settings-save'));
    const error = await within(rows[0]).findByTestId('node-settings-error');
    expect(error.textContent).toContain("invalid parallel slots '0'");
    expect(slots.getAttribute('aria-invalid')).toBe('true');

    fireEvent.change(slots, { target: { value: '3' } });
    fireEvent.change(within(rows[0]).getByLabelText('GPU memory in GiB for alpha'), { target: { value: '-2' } });
    fireEvent.click(within(rows[0]).getByTestId('node-settings-save'));
    await waitFor(() => expect(within(rows[0]).getByTestId('node-settings-error').textContent).toContain("invalid GPU memory '-2'"));
    expect(plane.callsTo('routing:set')).toEqual([]);
    expect(plane.callsTo('nodes:update')).toEqual([]);
  });

  it('shows the nodes:update error', async () => {
    plane.handle('nodes:update', () => ({ ok: false, error: { code: 'not_found', message: "node 'n1' not found" } }));
    await openSettings();
    const rows = await screen.findAllByTestId('node-settings-row');
    fireEvent.change(within(rows[0]).getByLabelText('GPU memory in GiB for alpha'), { target: { value: '8' } });
    fireEvent.click(within(rows[0]).getByTestId('node-settings-save'));
    expect((await within(rows[0]).findByTestId('node-settings-error')).textContent).toBe("node 'n1' not found");
    const gpu = within(rows[0]).getByLabelText('GPU memory in GiB for alpha');
    expect(gpu.getAttribute('aria-invalid')).toBe('true');
    expect(within(rows[0]).getByLabelText('Parallel slots for alpha').getAttribute('aria-invalid')).toBeNull();
  });

  it('marks only the invalid capacity field', async () => {
    await openSettings();
    const rows = await screen.findAllByTestId('node-settings-row');
    const slots = within(rows[0]).getByLabelText('Parallel slots for alpha');
    const gpu = within(rows[0]).getByLabelText('GPU memory in GiB for alpha');

    fireEvent.change(slots, { target: { value: 'many' } });
    fireEvent.click(within(rows[0]).getByTestId('node-settings-save'));
    const error = await within(rows[0]).findByTestId('node-settings-error');
    expect(slots.getAttribute('aria-invalid')).toBe('true');
    expect(slots.getAttribute('aria-describedby')).toBe(error.id);
    expect(gpu.getAttribute('aria-invalid')).toBeNull();
    expect(gpu.getAttribute('aria-describedby')).toBeNull();

    fireEvent.change(slots, { target: { value: '2' } });
    fireEvent.change(gpu, { target: { value: 'lots' } });
    fireEvent.click(within(rows[0]).getByTestId('node-settings-save'));
    await waitFor(() => expect(gpu.getAttribute('aria-invalid')).toBe('true'));
    expect(gpu.getAttribute('aria-describedby')).toBe(within(rows[0]).getByTestId('node-settings-error').id);
    expect(slots.getAttribute('aria-invalid')).toBeNull();
  });

  it('marks the slots field on a routing:set error', async () => {
    plane.handle('routing:set', () => ({ ok: false, error: { code: 'invalid_argument', message: 'invalid nodeParallel: too many slots' } }));
    await openSettings();
    const rows = await screen.findAllByTestId('node-settings-row');
    fireEvent.change(within(rows[0]).getByLabelText('Parallel slots for alpha'), { target: { value: '3' } });
    fireEvent.click(within(rows[0]).getByTestId('node-settings-save'));
    expect((await within(rows[0]).findByTestId('node-settings-error')).textContent).toBe('invalid nodeParallel: too many slots');
    expect(within(rows[0]).getByLabelText('Parallel slots for alpha').getAttribute('aria-invalid')).toBe('true');
    expect(within(rows[0]).getByLabelText('GPU memory in GiB for alpha').getAttribute('aria-invalid')).toBeNull();
  });

  it('adds and removes pre-warm pairs', async () => {
    await openSettings();
    expect(screen.getByTestId('prewarm-empty')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Model'), { target: { value: ' tiny:latest ' } });
    const nodeBoxes = screen.getAllByTestId('prewarm-node');
    fireEvent.click(nodeBoxes[0]);
    fireEvent.click(nodeBoxes[1]);
    fireEvent.click(screen.getByTestId('prewarm-add'));

    const pair = await screen.findByTestId('prewarm-pair');
    expect(pair.textContent).toContain('tiny:latest on alpha, beta');
    expect(plane.callsTo('routing:set')).toEqual([{ prewarm: [{ model: 'tiny:latest', nodeIds: ['n1', 'n2'] }] }]);
    expect((screen.getByLabelText('Model') as HTMLInputElement).value).toBe('');

    fireEvent.click(screen.getByRole('button', { name: 'Remove pre-warm of tiny:latest' }));
    await screen.findByTestId('prewarm-empty');
    expect(plane.callsTo('routing:set')[1]).toEqual({ prewarm: [] });
  });

  it('shows the API error for an incomplete pre-warm pair', async () => {
    plane.handle('routing:set', () => ({
      ok: false,
      error: { code: 'invalid_argument', message: 'prewarm.0.nodeIds: nodeIds must list at least one node id' },
    }));
    await openSettings();
    fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'tiny:latest' } });
    fireEvent.click(screen.getByTestId('prewarm-add'));
    const error = await screen.findByTestId('prewarm-error');
    expect(error.textContent).toContain('nodeIds must list at least one node id');
    expect(screen.getByLabelText('Model').getAttribute('aria-invalid')).toBe('true');
    expect((screen.getByLabelText('Model') as HTMLInputElement).value).toBe('tiny:latest');
  });

  it('shows routing statistics', async () => {
    await openSettings();
    const panel = await screen.findByTestId('routing-stats');
    expect(within(panel).getByTestId('hedges-sent').textContent).toBe('5');
    expect(within(panel).getByTestId('hedges-won').textContent).toBe('3');
    expect(within(panel).getByTestId('hedges-cancelled').textContent).toBe('2');
    const breakers = within(panel).getAllByTestId('stats-breaker');
    expect(breakers.map((item) => item.textContent)).toEqual(['alpha: closed', 'beta: half open']);
    const actions = within(panel).getAllByTestId('stats-placement-action');
    expect(actions[0].textContent).toContain('reload tiny:latest on beta: succeeded. all layers on GPU after reload');
    expect(actions[0].querySelector('time')?.getAttribute('dateTime')).toBe('2026-12-04T10:05:00.000Z');
    const cells = within(within(panel).getByTestId('stats-learned-row')).getAllByRole('cell');
    expect(cells.map((cell) => cell.textContent)).toEqual([
      'alpha',
      'tiny:latest',
      'generation',
      '120 ms',
      '42.3',
      '900 ms',
      '95%',
      '20',
    ]);
  });

  it('shows a settings load error', async () => {
    plane.handle('routing:settings', () => ({ ok: false, error: { code: 'unavailable', message: 'cannot reach the control plane' } }));
    app = renderApp(plane);
    fireEvent.click(screen.getByTestId('nav-settings'));
    expect((await screen.findByTestId('settings-error')).textContent).toBe('cannot reach the control plane');
    expect(screen.queryByTestId('routing-options')).toBeNull();
  });
});
