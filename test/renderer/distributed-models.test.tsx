// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { backend, distributedPlane, localBackend, model } from './distributed-fixtures';
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

describe('distributed models panel', () => {
  it('lists model state, backends and errors', async () => {
    await openView(distributedPlane({ models: [model()] }));
    const row = await screen.findByTestId('distributed-model');
    expect(row.textContent).toContain('tiny-llama-8L');
    expect(within(row).getByTestId('distributed-state').textContent).toBe('ready');
    expect(within(row).getByTestId('distributed-backends').textContent).toContain('127.0.0.1:50052, 127.0.0.1:50060');
    expect(within(row).getByTestId('distributed-backends').textContent).toContain('tensor split 1, 1');
    expect(within(row).getByTestId('distributed-excluded').textContent).toBe('10.0.0.9:50052: connection refused');
    expect(within(row).getByTestId('distributed-restarts').textContent).toBe('1');
    expect(within(row).getByTestId('distributed-last-error').textContent).toBe('llama-server exited with code 1');
    expect(within(row).getByTestId('distributed-load-time').textContent).toBe('1.8 s');
  });

  it('shows an empty state without models', async () => {
    await openView(distributedPlane());
    expect((await screen.findByTestId('distributed-empty')).textContent).toContain('No distributed model');
  });

  it('distributed:state events add and update rows', async () => {
    const plane = distributedPlane();
    await openView(plane);
    await screen.findByTestId('distributed-empty');
    act(() => plane.emit('distributed:state', model({ state: 'loading', loadMs: undefined, lastError: undefined })));
    const row = screen.getByTestId('distributed-model');
    expect(within(row).getByTestId('distributed-state').textContent).toBe('loading');
    expect(within(row).getByTestId('distributed-load-time').textContent).toBe('—');
    act(() => plane.emit('distributed:state', model({ state: 'ready', loadMs: 950 })));
    expect(within(screen.getByTestId('distributed-model')).getByTestId('distributed-state').textContent).toBe('ready');
    expect(within(screen.getByTestId('distributed-model')).getByTestId('distributed-load-time').textContent).toBe('950 ms');
  });

  it('stop calls the API and reloads the list', async () => {
    const plane = distributedPlane({ models: [model()] });
    plane.handle('distributed:stop', () => {
      plane.handle('distributed:list', () => ok([]));
      return ok({ stopped: true });
    });
    await openView(plane);
    fireEvent.click(await screen.findByTestId('distributed-stop'));
    await screen.findByTestId('distributed-empty');
    expect(plane.callsTo('distributed:stop')).toEqual([{ id: 'dist-1' }]);
  });

  it('layer map link opens the Layers view', async () => {
    await openView(distributedPlane({ models: [model()] }));
    fireEvent.click(await screen.findByTestId('distributed-layers-link'));
    expect(await screen.findByTestId('layers-view')).toBeTruthy();
    expect(screen.getByTestId('nav-layers').getAttribute('aria-current')).toBe('page');
  });
});

describe('distributed start form', () => {
  it('preselects healthy backends and sends the form', async () => {
    const down = backend({ endpoint: '127.0.0.2:50052', status: 'unreachable', reason: 'connection refused', devices: [] });
    const plane = distributedPlane({ backends: [backend(), down, localBackend()] });
    plane.handle('distributed:start', () => ok(model({ state: 'ready' })));
    await openView(plane);
    await waitFor(() => expect(screen.getAllByTestId('distributed-backend-checkbox')).toHaveLength(3));
    const boxes = screen.getAllByTestId('distributed-backend-checkbox') as HTMLInputElement[];
    const byValue = (value: string) => boxes.find((box) => box.value === value) as HTMLInputElement;
    expect(byValue('127.0.0.1:50052').checked).toBe(true);
    expect(byValue('127.0.0.2:50052').checked).toBe(false);
    expect(byValue('127.0.0.1:50060').checked).toBe(true);

    fireEvent.click(byValue('127.0.0.1:50060'));
    expect(byValue('127.0.0.1:50060').checked).toBe(false);
    fireEvent.click(byValue('127.0.0.2:50052'));
    expect(byValue('127.0.0.2:50052').checked).toBe(true);

    fireEvent.change(screen.getByTestId('distributed-model-input'), { target: { value: ' /models/tiny-llama-8L.gguf ' } });
    fireEvent.change(screen.getByTestId('distributed-ctx-input'), { target: { value: '512' } });
    fireEvent.change(screen.getByTestId('distributed-split-input'), { target: { value: '3, 1' } });
    fireEvent.click(screen.getByTestId('distributed-start'));
    await screen.findByTestId('distributed-model');
    expect(plane.callsTo('distributed:start')).toEqual([
      { model: '/models/tiny-llama-8L.gguf', backends: ['127.0.0.1:50052', '127.0.0.2:50052'], ctx: 512, tensorSplit: [3, 1] },
    ]);
  });

  it('shows the API error inline', async () => {
    const plane = distributedPlane({ backends: [backend()] });
    plane.handle('distributed:start', () => ({
      ok: false,
      error: { code: 'not_found', message: "model 'nope' not found in the Ollama store and not a .gguf path" },
    }));
    await openView(plane);
    fireEvent.change(screen.getByTestId('distributed-model-input'), { target: { value: 'nope' } });
    fireEvent.click(screen.getByTestId('distributed-start'));
    expect((await screen.findByTestId('distributed-start-error')).textContent).toContain("model 'nope' not found");
    expect(screen.getByTestId('distributed-model-input').getAttribute('aria-invalid')).toBe('true');
  });

  it('rejects a bad tensor split before calling', async () => {
    const plane = distributedPlane();
    await openView(plane);
    fireEvent.change(screen.getByTestId('distributed-model-input'), { target: { value: 'tiny' } });
    fireEvent.change(screen.getByTestId('distributed-split-input'), { target: { value: '1,abc' } });
    fireEvent.click(screen.getByTestId('distributed-start'));
    expect((await screen.findByTestId('distributed-start-error')).textContent).toContain("tensor split '1,abc' is invalid");
    expect(plane.callsTo('distributed:start')).toHaveLength(0);
  });

  it('rejects a context size below 64', async () => {
    const plane = distributedPlane();
    await openView(plane);
    fireEvent.change(screen.getByTestId('distributed-model-input'), { target: { value: 'tiny' } });
    fireEvent.change(screen.getByTestId('distributed-ctx-input'), { target: { value: '10' } });
    fireEvent.click(screen.getByTestId('distributed-start'));
    expect((await screen.findByTestId('distributed-start-error')).textContent).toContain("context size '10' is invalid");
    expect(plane.callsTo('distributed:start')).toHaveLength(0);
  });
});
