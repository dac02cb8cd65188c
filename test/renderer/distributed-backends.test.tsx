// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { LlamaBuildView } from '../../shared/api/distributed';
import { BINARIES, NO_BINARIES, backend, distributedPlane, localBackend } from './distributed-fixtures';
import { ok } from './fake-plane';
import { renderApp } from './render-app';

let app: ReturnType<typeof renderApp> | undefined;

afterEach(() => {
  app?.unmount();
  app = undefined;
  cleanup();
});

async function openView(plane: ReturnType<typeof distributedPlane>) {
  app = renderApp(plane);
  fireEvent.click(await screen.findByTestId('nav-distributed'));
  return screen.findByTestId('distributed-view');
}

function rowOf(endpoint: string): HTMLElement {
  const row = screen.getAllByTestId('rpc-backend').find((el) => el.dataset.endpoint === endpoint);
  if (!row) throw new Error(`no row for ${endpoint}`);
  return row;
}

describe('distributed binaries panel', () => {
  it('lists binary paths and versions', async () => {
    await openView(distributedPlane());
    const server = await screen.findByTestId('binary-llama-server');
    expect(server.textContent).toContain('/cache/bin/llama-server');
    expect(server.textContent).toContain('6500 (abc1234)');
    expect(screen.getByTestId('binary-rpc-server').textContent).toContain('/cache/bin/ggml-rpc-server');
    expect(screen.queryByTestId('binaries-hint')).toBeNull();
  });

  it('shows missing binaries with the build hint', async () => {
    await openView(distributedPlane({ binaries: NO_BINARIES }));
    expect((await screen.findByTestId('binary-llama-server')).textContent).toContain('not found');
    expect(screen.getByTestId('binaries-hint').textContent).toContain('npm run llama:build');
  });

  it('build streams progress and log tail', async () => {
    const plane = distributedPlane({ binaries: NO_BINARIES });
    let finish: (value: LlamaBuildView) => void = () => undefined;
    plane.handle('llama:build', () => new Promise((resolve) => (finish = (value) => resolve(ok(value)))));
    await openView(plane);
    fireEvent.click(await screen.findByTestId('build-start'));
    await waitFor(() => expect(plane.callsTo('llama:build')).toHaveLength(1));
    expect((screen.getByTestId('build-start') as HTMLButtonElement).disabled).toBe(true);

    act(() => plane.emit('llama:build-progress', { line: '[llama:build] cloning bundle' }));
    act(() => plane.emit('llama:build-progress', { line: '[llama:build] [ 37%] Building CXX object ggml.o', percent: 37 }));
    const progress = screen.getByTestId('build-progress') as HTMLProgressElement;
    expect(progress.value).toBe(37);
    expect(screen.getByTestId('build-log').textContent).toContain('[ 37%] Building CXX object ggml.o');
    expect(screen.getByTestId('build-status').textContent).toContain('37%');

    plane.handle('llama:binaries', () => ok(BINARIES));
    await act(async () => finish({ state: 'done', startedAt: 'x', percent: 100, binDir: '/cache/bin', tail: [] }));
    expect((await screen.findByTestId('build-done')).textContent).toContain('/cache/bin');
    await waitFor(() => expect(screen.getByTestId('binary-llama-server').textContent).toContain('/cache/bin/llama-server'));
    expect(plane.callsTo('llama:binaries').at(-1)).toEqual({ refresh: true });
  });

  it('build failure shows exit code message', async () => {
    const plane = distributedPlane();
    plane.handle('llama:build', () => ({
      ok: false,
      error: { code: 'unavailable', message: 'llama.cpp build exited with code 2. Last output:\ncmake is not installed' },
    }));
    await openView(plane);
    fireEvent.click(await screen.findByTestId('build-start'));
    expect((await screen.findByTestId('build-error')).textContent).toContain('exited with code 2');
    expect(screen.getByTestId('build-status').textContent).toContain('Build failed');
    expect((screen.getByTestId('build-start') as HTMLButtonElement).disabled).toBe(false);
  });
});

describe('distributed RPC backends panel', () => {
  it('lists backends with devices, status and origin', async () => {
    const unreachable = backend({ endpoint: '127.0.0.2:50052', status: 'unreachable', reason: 'connection refused', devices: [] });
    await openView(distributedPlane({ backends: [backend(), unreachable, localBackend()] }));
    await waitFor(() => expect(screen.getAllByTestId('rpc-backend')).toHaveLength(3));

    const ok0 = rowOf('127.0.0.1:50052');
    expect(within(ok0).getByTestId('rpc-status').textContent).toBe('ok');
    expect(within(ok0).getByTestId('rpc-device').textContent).toContain('12.0 GiB free of 15.5 GiB');
    expect(within(ok0).getByTestId('rpc-origin').textContent).toBe('remote');

    const down = rowOf('127.0.0.2:50052');
    expect(within(down).getByTestId('rpc-status').textContent).toBe('unreachable');
    expect(within(down).getByTestId('rpc-reason').textContent).toBe('connection refused');

    const local = rowOf('127.0.0.1:50060');
    expect(within(local).getByTestId('rpc-origin').textContent).toContain('local, ready');
    expect(within(local).getByTestId('rpc-origin').textContent).toContain('pid 4242');
    expect(within(local).getByTestId('rpc-restarts').textContent).toBe('2');
  });

  it('warns about non-loopback RPC servers', async () => {
    const remote = backend({ endpoint: '192.168.1.20:50052' });
    const exposedLocal = localBackend({ endpoint: '0.0.0.0:50061', local: { pid: 1, state: 'ready', restarts: 0, exposed: true } });
    await openView(distributedPlane({ backends: [backend(), remote, exposedLocal] }));
    await waitFor(() => expect(screen.getAllByTestId('rpc-backend')).toHaveLength(3));
    expect(within(rowOf('192.168.1.20:50052')).getByTestId('rpc-exposed-warning').textContent).toContain('no authentication');
    expect(within(rowOf('0.0.0.0:50061')).queryByTestId('rpc-exposed-warning')).not.toBeNull();
    expect(within(rowOf('127.0.0.1:50052')).queryByTestId('rpc-exposed-warning')).toBeNull();
  });

  it('add form shows API validation error inline', async () => {
    const plane = distributedPlane();
    plane.handle('rpc:add', () => ({
      ok: false,
      error: { code: 'invalid_argument', message: 'rpc:add: endpoint: expected host:port, for example 127.0.0.1:50052' },
    }));
    await openView(plane);
    fireEvent.change(screen.getByLabelText('RPC backend (host:port)'), { target: { value: 'nonsense' } });
    fireEvent.click(screen.getByTestId('rpc-add-submit'));
    expect((await screen.findByTestId('rpc-add-error')).textContent).toContain('expected host:port');
    expect(plane.callsTo('rpc:add')).toEqual([{ endpoint: 'nonsense', name: undefined }]);
    expect(screen.getByLabelText('RPC backend (host:port)').getAttribute('aria-invalid')).toBe('true');
  });

  it('add form adds the backend to the list', async () => {
    const plane = distributedPlane();
    plane.handle('rpc:add', (args) => ok(backend({ endpoint: (args as { endpoint: string }).endpoint, status: 'unknown', devices: [] })));
    await openView(plane);
    fireEvent.change(screen.getByLabelText('RPC backend (host:port)'), { target: { value: ' 127.0.0.1:50099 ' } });
    fireEvent.click(screen.getByTestId('rpc-add-submit'));
    await waitFor(() => expect(rowOf('127.0.0.1:50099')).toBeTruthy());
    expect(plane.callsTo('rpc:add')).toEqual([{ endpoint: '127.0.0.1:50099', name: undefined }]);
    expect((screen.getByLabelText('RPC backend (host:port)') as HTMLInputElement).value).toBe('');
  });

  it('check updates the row status', async () => {
    const plane = distributedPlane({ backends: [backend({ status: 'unknown', devices: [] })] });
    plane.handle('rpc:check', () => ok(backend({ status: 'incompatible', reason: 'RPC protocol 2.0.0 differs from 3.0.0' })));
    await openView(plane);
    await waitFor(() => expect(screen.getAllByTestId('rpc-backend')).toHaveLength(1));
    fireEvent.click(within(rowOf('127.0.0.1:50052')).getByTestId('rpc-check'));
    await waitFor(() => expect(within(rowOf('127.0.0.1:50052')).getByTestId('rpc-status').textContent).toBe('incompatible'));
    expect(within(rowOf('127.0.0.1:50052')).getByTestId('rpc-reason').textContent).toContain('protocol 2.0.0');
    expect(plane.callsTo('rpc:check')).toEqual([{ endpoint: '127.0.0.1:50052' }]);
  });

  it('remove asks for confirmation first', async () => {
    const plane = distributedPlane({ backends: [backend()] });
    plane.handle('rpc:remove', () => ok({ removed: true }));
    await openView(plane);
    await waitFor(() => expect(screen.getAllByTestId('rpc-backend')).toHaveLength(1));
    fireEvent.click(screen.getByTestId('rpc-remove'));
    expect(plane.callsTo('rpc:remove')).toHaveLength(0);
    fireEvent.click(screen.getByTestId('rpc-remove-cancel'));
    expect(screen.getAllByTestId('rpc-backend')).toHaveLength(1);
    fireEvent.click(screen.getByTestId('rpc-remove'));
    fireEvent.click(screen.getByTestId('rpc-remove-confirm'));
    await waitFor(() => expect(screen.queryAllByTestId('rpc-backend')).toHaveLength(0));
    expect(plane.callsTo('rpc:remove')).toEqual([{ endpoint: '127.0.0.1:50052' }]);
  });

  it('escape closes the backend remove confirmation', async () => {
    const plane = distributedPlane({ backends: [backend()] });
    plane.handle('rpc:remove', () => ok({ removed: true }));
    await openView(plane);
    await waitFor(() => expect(screen.getAllByTestId('rpc-backend')).toHaveLength(1));
    fireEvent.click(screen.getByTestId('rpc-remove'));
    const cancel = screen.getByTestId('rpc-remove-cancel');
    expect(document.activeElement).toBe(cancel);
    fireEvent.keyDown(cancel, { key: 'Escape' });
    expect(screen.queryByTestId('rpc-remove-confirm')).toBeNull();
    expect(document.activeElement).toBe(screen.getByTestId('rpc-remove'));
    expect(plane.callsTo('rpc:remove')).toHaveLength(0);
  });

  it('rpc:state events update and remove rows', async () => {
    const plane = distributedPlane({ backends: [backend()] });
    await openView(plane);
    await waitFor(() => expect(screen.getAllByTestId('rpc-backend')).toHaveLength(1));
    act(() => plane.emit('rpc:state', backend({ status: 'unreachable', reason: 'timed out after 5000 ms' })));
    expect(within(rowOf('127.0.0.1:50052')).getByTestId('rpc-status').textContent).toBe('unreachable');
    act(() => plane.emit('rpc:state', { endpoint: '127.0.0.1:50052', removed: true }));
    expect(screen.queryAllByTestId('rpc-backend')).toHaveLength(0);
  });

  it('starts a local server with the form values', async () => {
    const plane = distributedPlane();
    plane.handle('rpc:start-local', () => ok(localBackend({ endpoint: '127.0.0.1:50070' })));
    await openView(plane);
    expect((screen.getByTestId('rpc-local-host') as HTMLInputElement).value).toBe('127.0.0.1');
    fireEvent.change(screen.getByTestId('rpc-local-port'), { target: { value: '50070' } });
    fireEvent.change(screen.getByTestId('rpc-local-threads'), { target: { value: '2' } });
    fireEvent.click(screen.getByTestId('rpc-local-start'));
    expect((await screen.findByTestId('rpc-local-started')).textContent).toContain('127.0.0.1:50070');
    expect(plane.callsTo('rpc:start-local')).toEqual([{ host: '127.0.0.1', port: 50070, threads: 2 }]);
    expect(rowOf('127.0.0.1:50070')).toBeTruthy();
  });

  it('local form rejects a bad port locally', async () => {
    const plane = distributedPlane();
    await openView(plane);
    fireEvent.change(screen.getByTestId('rpc-local-port'), { target: { value: '70000' } });
    fireEvent.click(screen.getByTestId('rpc-local-start'));
    expect((await screen.findByTestId('rpc-local-error')).textContent).toContain("port '70000' is invalid");
    expect(plane.callsTo('rpc:start-local')).toHaveLength(0);
  });

  it('local form warns for a non-loopback host', async () => {
    await openView(distributedPlane());
    expect(screen.queryByTestId('rpc-local-exposed-warning')).toBeNull();
    fireEvent.change(screen.getByTestId('rpc-local-host'), { target: { value: '0.0.0.0' } });
    expect(screen.getByTestId('rpc-local-exposed-warning').textContent).toContain('no authentication');
  });

  it('stops a local server', async () => {
    const plane = distributedPlane({ backends: [localBackend()] });
    plane.handle('rpc:stop-local', () => ok({ stopped: true }));
    await openView(plane);
    await waitFor(() => expect(screen.getAllByTestId('rpc-backend')).toHaveLength(1));
    fireEvent.click(screen.getByTestId('rpc-stop-local'));
    await waitFor(() => expect(plane.callsTo('rpc:stop-local')).toEqual([{ endpoint: '127.0.0.1:50060' }]));
    expect(screen.queryByTestId('rpc-row-error')).toBeNull();
  });
});
