// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DiscoveryProposal, ScanProgress, ScanView } from '../../shared/api/discovery';
import { FakePlane, ok } from './fake-plane';
import { renderApp } from './render-app';

const ollamaProposal: DiscoveryProposal = {
  id: 'ollama:10.0.0.5:11434',
  kind: 'ollama',
  host: '10.0.0.5',
  port: 11434,
  address: 'http://10.0.0.5:11434',
  verified: true,
  detail: 'Ollama 0.12.3 with 2 models',
  version: '0.12.3',
  models: ['llama3.2:1b', 'qwen3:0.6b'],
  source: 'scan',
  latencyMs: 4,
};

const rpcProposal: DiscoveryProposal = {
  id: 'rpc:10.0.0.6:50052',
  kind: 'rpc',
  host: '10.0.0.6',
  port: 50052,
  address: '10.0.0.6:50052',
  verified: true,
  detail: 'rpc-server, 1 device, 24576 MiB free',
  source: 'scan',
  latencyMs: 2,
};

const openPortProposal: DiscoveryProposal = {
  id: 'rpc:10.0.0.7:50052',
  kind: 'rpc',
  host: '10.0.0.7',
  port: 50052,
  address: '10.0.0.7:50052',
  verified: false,
  detail: 'port open, device check failed: timed out after 2000 ms',
  source: 'scan',
  latencyMs: 3,
};

function scanView(overrides: Partial<ScanView> = {}): ScanView {
  return {
    id: 'scan-1',
    cidr: '10.0.0.0/29',
    ports: [11434, 50052],
    rpcPorts: [50052],
    state: 'done',
    probed: 16,
    total: 16,
    startedAt: '2026-12-04T10:00:00.000Z',
    finishedAt: '2026-12-04T10:00:02.000Z',
    proposals: [ollamaProposal, rpcProposal, openPortProposal],
    rejected: [{ host: '10.0.0.8', port: 11434, reason: 'GET /api/version returned HTTP 404: not an Ollama server' }],
    ...overrides,
  };
}

function progress(overrides: Partial<ScanProgress> = {}): ScanProgress {
  return {
    id: 'scan-1',
    cidr: '10.0.0.0/29',
    ports: [11434, 50052],
    rpcPorts: [50052],
    state: 'running',
    probed: 4,
    total: 16,
    startedAt: '2026-12-04T10:00:00.000Z',
    found: 1,
    rejectedCount: 0,
    ...overrides,
  };
}

let plane: FakePlane;
let app: ReturnType<typeof renderApp>;

beforeEach(() => {
  plane = new FakePlane();
  plane.handle('nodes:list', () => ok([]));
  plane.handle('models:list', () => ok([]));
  plane.handle('chat:list', () => ok([]));
  plane.handle('router:decisions', () => ok([]));
  plane.handle('stats:figures', () => ok({ at: new Date().toISOString(), totalRequests: 0, nodes: [] }));
  plane.handle('discovery:results', () => ok([]));
});

afterEach(() => {
  app?.unmount();
  cleanup();
});

async function openDiscovery() {
  app = renderApp(plane);
  fireEvent.click(screen.getByTestId('nav-discovery'));
  return screen.findByTestId('discovery-view');
}

function submitScan(cidr: string, ports?: string) {
  fireEvent.change(screen.getByLabelText('Address range (CIDR)'), { target: { value: cidr } });
  if (ports !== undefined) fireEvent.change(screen.getByLabelText('Ports (comma-separated)'), { target: { value: ports } });
  fireEvent.click(screen.getByTestId('scan-start'));
}

describe('discovery view', () => {
  it('shows the API range error inline', async () => {
    const message =
      "invalid CIDR '10.0.0.0/16': it covers 65536 addresses, more than the 1024 one scan probes; scan it as 64 ranges of /22 or smaller, e.g. 10.0.0.0/22";
    plane.handle('discovery:scan', () => ({ ok: false, error: { code: 'invalid_argument', message } }));
    await openDiscovery();
    submitScan('10.0.0.0/16');

    const error = await screen.findByTestId('scan-cidr-error');
    expect(error.textContent).toBe(message);
    expect(error.getAttribute('role')).toBe('alert');
    const input = screen.getByLabelText('Address range (CIDR)');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.getAttribute('aria-describedby')).toBe(error.id);
    expect(screen.queryByTestId('scan-progress')).toBeNull();
  });

  it('rejects a bad port before calling the API', async () => {
    plane.handle('discovery:scan', () => ok({ scanId: 'scan-1', total: 16 }));
    await openDiscovery();
    submitScan('10.0.0.0/29', '11434, 99999');

    const error = await screen.findByTestId('scan-ports-error');
    expect(error.textContent).toContain("invalid port '99999'");
    expect(plane.callsTo('discovery:scan')).toEqual([]);
  });

  it('sends default ports and follows progress', async () => {
    plane.handle('discovery:scan', () => ok({ scanId: 'scan-1', total: 16 }));
    plane.handle('discovery:cancel', () => ok({ cancelled: true }));
    await openDiscovery();
    expect((screen.getByLabelText('Ports (comma-separated)') as HTMLInputElement).value).toBe('11434,50052');
    submitScan(' 10.0.0.0/29 ');

    await screen.findByTestId('scan-progress');
    expect(plane.callsTo('discovery:scan')).toEqual([{ cidr: '10.0.0.0/29', ports: [11434, 50052] }]);
    expect(screen.getByTestId('scan-state').textContent).toBe('Scanning');

    act(() => plane.emit('discovery:progress', progress({ probed: 8 })));
    const bar = screen.getByTestId('scan-progress-bar') as HTMLProgressElement;
    expect(bar.getAttribute('value')).toBe('8');
    expect(bar.getAttribute('max')).toBe('16');
    expect(bar.getAttribute('aria-label')).toBe('Scan progress 50%');
    expect(screen.getByTestId('scan-start').hasAttribute('disabled')).toBe(true);

    plane.handle('discovery:results', () => ok([scanView({ state: 'cancelled', probed: 8, proposals: [], rejected: [] })]));
    fireEvent.click(screen.getByTestId('scan-cancel'));
    await waitFor(() => expect(screen.getByTestId('scan-state').textContent).toBe('Cancelled'));
    expect(plane.callsTo('discovery:cancel')).toEqual([{ scanId: 'scan-1' }]);
    expect(screen.queryByTestId('scan-cancel')).toBeNull();
    expect(screen.getByTestId('proposals-empty').textContent).toContain('No Ollama node or rpc-server');
  });

  it('lists proposals by kind without adding them', async () => {
    plane.handle('discovery:scan', () => ok({ scanId: 'scan-1', total: 16 }));
    await openDiscovery();
    submitScan('10.0.0.0/29');
    await screen.findByTestId('scan-progress');

    plane.handle('discovery:results', () => ok([scanView()]));
    act(() => plane.emit('discovery:progress', progress({ state: 'done', probed: 16, found: 3, rejectedCount: 1 })));

    const rows = await screen.findAllByTestId('proposal');
    expect(rows).toHaveLength(3);
    expect(within(rows[0]).getByTestId('proposal-kind').textContent).toBe('Ollama node');
    expect(within(rows[0]).getByTestId('proposal-version').textContent).toBe('0.12.3');
    expect(within(rows[0]).getByTestId('proposal-models').textContent).toBe('llama3.2:1b, qwen3:0.6b');
    expect(within(rows[1]).getByTestId('proposal-kind').textContent).toBe('rpc-server, verified');
    expect(within(rows[1]).getByTestId('proposal-detail').textContent).toBe('rpc-server, 1 device, 24576 MiB free');
    expect(within(rows[2]).getByTestId('proposal-kind').textContent).toBe('Port open, not verified as rpc-server');
    expect(within(rows[0]).queryByTestId('proposal-added')).toBeNull();
    expect(screen.getByTestId('rejection').textContent).toContain('10.0.0.8:11434: GET /api/version returned HTTP 404');
    expect(plane.callsTo('discovery:results')).toContainEqual({ scanId: 'scan-1' });
    expect(plane.callsTo('discovery:add')).toEqual([]);
    expect(plane.callsTo('nodes:add')).toEqual([]);
    expect(screen.getByTestId('proposals-add').hasAttribute('disabled')).toBe(true);
  });

  it('adds only the selected proposals', async () => {
    plane.handle('discovery:results', () => ok([scanView()]));
    let nodesAfterAdd: unknown[] = [];
    plane.handle('nodes:list', () => ok(nodesAfterAdd));
    plane.handle('discovery:add', () =>
      ok([
        { id: ollamaProposal.id, ok: true, channel: 'nodes:add' },
        { id: rpcProposal.id, ok: false, error: "rpc backend '10.0.0.6:50052' already exists" },
      ]),
    );
    const added = {
      id: 'n5',
      url: 'http://10.0.0.5:11434',
      name: '10.0.0.5:11434',
      kind: 'ollama',
      health: 'up',
      consecutiveFailures: 0,
      models: [],
      loaded: [],
      inFlight: 0,
      problems: [],
    };
    await openDiscovery();
    const rows = await screen.findAllByTestId('proposal');
    fireEvent.click(within(rows[0]).getByTestId('proposal-select'));
    fireEvent.click(within(rows[1]).getByTestId('proposal-select'));
    expect(screen.getByTestId('proposals-add').textContent).toBe('Add selected (2)');
    nodesAfterAdd = [added];
    fireEvent.click(screen.getByTestId('proposals-add'));

    await waitFor(() => expect(screen.getAllByTestId('proposal-outcome')).toHaveLength(2));
    await waitFor(() => expect(within(rows[0]).getByTestId('proposal-added').textContent).toBe('already added'));
    expect(within(rows[1]).queryByTestId('proposal-added')).toBeNull();
    expect(plane.callsTo('discovery:add')).toEqual([{ scanId: 'scan-1', ids: [ollamaProposal.id, rpcProposal.id] }]);
    const outcomes = screen.getAllByTestId('proposal-outcome');
    expect(outcomes[0].textContent).toBe('Added through nodes:add');
    expect(outcomes[1].textContent).toContain("Not added: rpc backend '10.0.0.6:50052' already exists");
    expect(outcomes[1].getAttribute('role')).toBe('alert');
    expect(screen.getByTestId('proposals-add').textContent).toBe('Add selected (1)');
  });

  it('applies progress that arrives before the scan id', async () => {
    plane.handle('discovery:scan', () => {
      plane.emit('discovery:progress', progress({ id: 'scan-2', state: 'done', probed: 16, found: 0 }));
      return ok({ scanId: 'scan-2', total: 16 });
    });
    plane.handle('discovery:results', (args) =>
      ok((args as { scanId?: string }).scanId === 'scan-2' ? [scanView({ id: 'scan-2', proposals: [], rejected: [] })] : []),
    );
    await openDiscovery();
    submitScan('10.0.0.0/29');

    await waitFor(() => expect(screen.getByTestId('scan-state').textContent).toBe('Done'));
    await screen.findByTestId('proposals-empty');
    expect(screen.queryByTestId('scan-cancel')).toBeNull();
  });

  it('polls results while running', async () => {
    plane.handle('discovery:scan', () => ok({ scanId: 'scan-1', total: 16 }));
    plane.handle('discovery:results', (args) =>
      ok(
        (args as { scanId?: string }).scanId === 'scan-1'
          ? [scanView({ state: 'running', probed: 6, proposals: [ollamaProposal], rejected: [], finishedAt: undefined })]
          : [],
      ),
    );
    await openDiscovery();
    submitScan('10.0.0.0/29');

    const row = await screen.findByTestId('proposal', {}, { timeout: 4_000 });
    expect(row.getAttribute('data-proposal-id')).toBe(ollamaProposal.id);
    expect(screen.getByTestId('scan-state').textContent).toBe('Scanning');
    expect(screen.getByTestId('scan-progress').textContent).toContain('6 of 16 probed, 1 found');
    expect(screen.getByTestId('scan-cancel')).toBeTruthy();
  });

  it('runs the local check', async () => {
    const local: DiscoveryProposal = { ...ollamaProposal, id: 'ollama:127.0.0.1:11434', host: '127.0.0.1', address: 'http://127.0.0.1:11434', source: 'default' };
    plane.handle('discovery:local', () =>
      ok({ proposals: [local], added: [{ id: local.id, ok: true, channel: 'nodes:add' }], rejected: [] }),
    );
    await openDiscovery();
    fireEvent.click(screen.getByTestId('local-check-run'));

    const item = await screen.findByTestId('local-proposal');
    expect(item.textContent).toBe('http://127.0.0.1:11434 (default): Ollama node, added');
    expect(plane.callsTo('discovery:local')).toEqual([{}]);
    await waitFor(() => expect(plane.callsTo('nodes:list').length).toBeGreaterThanOrEqual(2));
  });

  it('shows the local check error', async () => {
    plane.handle('discovery:local', () => ({ ok: false, error: { code: 'internal', message: 'OLLAMA_HOST is invalid' } }));
    await openDiscovery();
    fireEvent.click(screen.getByTestId('local-check-run'));
    expect((await screen.findByTestId('local-check-error')).textContent).toBe('OLLAMA_HOST is invalid');
  });
});
