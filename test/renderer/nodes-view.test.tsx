// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NodeView } from '../../shared/types';
import { FakePlane, nodeView, ok } from './fake-plane';
import { renderApp } from './render-app';

function node(overrides: Partial<NodeView> = {}): NodeView {
  return nodeView({ version: '0.12.3', models: [{ name: 'tiny:latest', digest: 'sha256:aa', sizeBytes: 6_000_000 }], ...overrides });
}

let plane: FakePlane;
let app: ReturnType<typeof renderApp>;

beforeEach(() => {
  plane = new FakePlane();
  plane.handle('nodes:list', () => ok([node()]));
  plane.handle('models:list', () => ok([]));
  plane.handle('chat:list', () => ok([]));
  plane.handle('router:decisions', () => ok([]));
  plane.handle('stats:figures', () => ok({ at: new Date().toISOString(), totalRequests: 0, nodes: [] }));
});

afterEach(() => {
  app?.unmount();
  cleanup();
});

describe('nodes view', () => {
  it('lists nodes with status, version and models', async () => {
    app = renderApp(plane);
    const card = await screen.findByTestId('node-card');
    expect(within(card).getByTestId('node-health').textContent).toBe('up');
    expect(within(card).getByTestId('node-version').textContent).toBe('0.12.3');
    expect(within(card).getByTestId('node-models').textContent).toContain('tiny:latest');
  });

  it('shows the API validation error inline', async () => {
    plane.handle('nodes:add', () => ({
      ok: false,
      error: { code: 'invalid_argument', message: "invalid node URL 'not a url': use http://host:port" },
    }));
    app = renderApp(plane);
    fireEvent.click(await screen.findByTestId('add-node-open'));
    const input = screen.getByLabelText('Node URL');
    fireEvent.change(input, { target: { value: 'not a url' } });
    fireEvent.click(screen.getByTestId('add-node-submit'));

    const error = await screen.findByTestId('add-node-error');
    expect(error.textContent).toContain("invalid node URL 'not a url'");
    expect(error.getAttribute('role')).toBe('alert');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.getAttribute('aria-describedby')).toBe(error.id);
    expect(plane.callsTo('nodes:add')).toEqual([{ url: 'not a url', name: undefined }]);
  });

  it('adds a node and closes the form', async () => {
    plane.handle('nodes:add', () => ok(node({ id: 'n2', name: 'beta', url: 'http://127.0.0.1:9999' })));
    app = renderApp(plane);
    fireEvent.click(await screen.findByTestId('add-node-open'));
    fireEvent.change(screen.getByLabelText('Node URL'), { target: { value: ' http://127.0.0.1:9999 ' } });
    fireEvent.click(screen.getByTestId('add-node-submit'));

    await waitFor(() => expect(screen.getAllByTestId('node-card')).toHaveLength(2));
    expect(screen.queryByTestId('add-node-form')).toBeNull();
    expect(plane.callsTo('nodes:add')).toEqual([{ url: 'http://127.0.0.1:9999', name: undefined }]);
  });

  it('draws GPU and CPU shares of a loaded model', async () => {
    plane.handle('nodes:list', () =>
      ok([
        node({
          loaded: [
            { name: 'tiny:latest', digest: 'sha256:aa', sizeBytes: 1000, sizeVramBytes: 250, placement: 'partial' },
          ],
        }),
      ]),
    );
    app = renderApp(plane);
    const bar = await screen.findByTestId('placement-bar');
    expect(bar.getAttribute('data-gpu-percent')).toBe('25');
    expect(bar.textContent).toContain('25% GPU / 75% CPU');
    expect(within(bar).getByRole('img').getAttribute('aria-label')).toContain('25% GPU, 75% CPU');
  });

  it('updates a node from a node:state event', async () => {
    app = renderApp(plane);
    await screen.findByTestId('node-card');
    act(() => plane.emit('node:state', node({ health: 'down', lastError: 'connection refused' })));
    expect(screen.getByTestId('node-health').textContent).toBe('down');
    expect(screen.getByTestId('node-card').textContent).toContain('connection refused');
  });

  it('removes a node only after confirmation', async () => {
    plane.handle('nodes:remove', () => ok({ removed: true }));
    app = renderApp(plane);
    fireEvent.click(await screen.findByTestId('node-remove'));
    expect(plane.callsTo('nodes:remove')).toHaveLength(0);
    fireEvent.click(screen.getByTestId('node-remove-cancel'));
    expect(screen.getByTestId('node-card')).toBeTruthy();

    fireEvent.click(screen.getByTestId('node-remove'));
    fireEvent.click(screen.getByTestId('node-remove-confirm'));
    await waitFor(() => expect(screen.queryByTestId('node-card')).toBeNull());
    expect(plane.callsTo('nodes:remove')).toEqual([{ id: 'n1' }]);
  });

  it('escape closes the add form and refocuses its button', async () => {
    app = renderApp(plane);
    fireEvent.click(await screen.findByTestId('add-node-open'));
    const input = screen.getByLabelText('Node URL');
    expect(document.activeElement).toBe(input);
    fireEvent.keyDown(input, { key: 'Escape' });
    expect(screen.queryByTestId('add-node-form')).toBeNull();
    expect(document.activeElement).toBe(screen.getByTestId('add-node-open'));
    expect(plane.callsTo('nodes:add')).toHaveLength(0);
  });

  it('add form cancel refocuses its button', async () => {
    app = renderApp(plane);
    fireEvent.click(await screen.findByTestId('add-node-open'));
    fireEvent.click(screen.getByTestId('add-node-cancel'));
    expect(screen.queryByTestId('add-node-form')).toBeNull();
    expect(document.activeElement).toBe(screen.getByTestId('add-node-open'));
  });

  it('remove confirmation focuses cancel', async () => {
    app = renderApp(plane);
    fireEvent.click(await screen.findByTestId('node-remove'));
    const cancel = screen.getByTestId('node-remove-cancel');
    expect(cancel.textContent).toBe('Cancel');
    expect(document.activeElement).toBe(cancel);
    expect(document.activeElement).not.toBe(screen.getByTestId('node-remove-confirm'));
  });

  it('escape closes the remove confirmation', async () => {
    plane.handle('nodes:remove', () => ok({ removed: true }));
    app = renderApp(plane);
    fireEvent.click(await screen.findByTestId('node-remove'));
    fireEvent.keyDown(screen.getByTestId('node-remove-cancel'), { key: 'Escape' });
    expect(screen.queryByTestId('node-remove-confirm')).toBeNull();
    expect(document.activeElement).toBe(screen.getByTestId('node-remove'));
    expect(screen.getByTestId('node-card')).toBeTruthy();
    expect(plane.callsTo('nodes:remove')).toHaveLength(0);
  });

  it('cancel refocuses the remove button', async () => {
    app = renderApp(plane);
    fireEvent.click(await screen.findByTestId('node-remove'));
    fireEvent.click(screen.getByTestId('node-remove-cancel'));
    expect(document.activeElement).toBe(screen.getByTestId('node-remove'));
  });

  it('check now shows the refreshed node', async () => {
    plane.handle('nodes:check', () => ok(node({ health: 'degraded', version: '0.12.4' })));
    app = renderApp(plane);
    fireEvent.click(await screen.findByTestId('node-check'));
    await waitFor(() => expect(screen.getByTestId('node-health').textContent).toBe('degraded'));
    expect(screen.getByTestId('node-version').textContent).toBe('0.12.4');
    expect(plane.callsTo('nodes:check')).toEqual([{ id: 'n1' }]);
  });

  it('check failure is shown on the card', async () => {
    plane.handle('nodes:check', () => ({ ok: false, error: { code: 'not_found', message: "node 'n1' not found" } }));
    app = renderApp(plane);
    fireEvent.click(await screen.findByTestId('node-check'));
    expect((await screen.findByRole('alert')).textContent).toBe("node 'n1' not found");
  });

  it('theme toggle switches the document theme', async () => {
    app = renderApp(plane);
    const toggle = await screen.findByTestId('theme-toggle');
    expect(document.documentElement.dataset.theme).toBe('light');
    fireEvent.click(toggle);
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(toggle.getAttribute('aria-pressed')).toBe('true');
  });
});
