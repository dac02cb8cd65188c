// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashOfView, VIEW_IDS, viewFromHash } from '../../renderer/src/lib/view-hash';
import { FakePlane, nodeView, ok } from './fake-plane';
import { renderApp } from './render-app';


let plane: FakePlane;
let app: ReturnType<typeof renderApp> | undefined;

beforeEach(() => {
  plane = new FakePlane();
  plane.handle('nodes:list', () => ok([nodeView()]));
  plane.handle('models:list', () => ok([]));
  plane.handle('chat:list', () => ok([]));
  plane.handle('router:decisions', () => ok([]));
  plane.handle('metrics:series', () => ok({ at: Date.now(), binMs: 5_000, windowSec: 900, nodes: [], hedgePoints: [] }));
  plane.handle('stats:figures', () =>
    ok({
      at: new Date().toISOString(),
      totalRequests: 9,
      nodes: [
        { nodeId: 'n1', nodeName: 'alpha', requests: 5, errors: 0, p50LatencyMs: 410, p95LatencyMs: 800, inFlight: 1 },
        { nodeId: 'n2', nodeName: 'beta', requests: 4, errors: 0, p50LatencyMs: 120, p95LatencyMs: 300, inFlight: 0 },
      ],
    }),
  );
});

afterEach(() => {
  app?.unmount();
  app = undefined;
  cleanup();
  window.history.replaceState(null, '', window.location.pathname);
});

describe('view hash parsing', () => {
  it('maps every view to its hash and back', () => {
    for (const view of VIEW_IDS) expect(viewFromHash(hashOfView(view))).toBe(view);
    expect(hashOfView('latency')).toBe('#/latency');
    expect(viewFromHash('#latency')).toBe('latency');
  });

  it('covers every navigation view', async () => {
    app = renderApp(plane);
    await screen.findByTestId('nodes-view');
    const navigation = screen.getAllByRole('button').filter((button) => button.dataset.testid?.startsWith('nav-'));
    expect(navigation.map((button) => button.dataset.testid!.slice('nav-'.length))).toEqual([...VIEW_IDS]);
  });

  it('falls back to nodes for unknown hashes', () => {
    for (const hash of ['', '#', '#/', '#/nope', '#/Latency', '#/latency/extra', '#/__proto__', '#/toString']) {
      expect(viewFromHash(hash), hash).toBe('nodes');
    }
  });
});

describe('view in the URL hash', () => {
  it('opens the view named by the hash', async () => {
    window.location.hash = '#/latency';
    app = renderApp(plane);
    expect(await screen.findByTestId('latency-view')).toBeTruthy();
    expect(screen.getByTestId('nav-latency').getAttribute('aria-current')).toBe('page');
    expect(screen.queryByTestId('nodes-view')).toBeNull();
  });

  it('writes the chosen view into the hash', async () => {
    app = renderApp(plane);
    await screen.findByTestId('nodes-view');
    fireEvent.click(screen.getByTestId('nav-map'));
    await waitFor(() => expect(window.location.hash).toBe('#/map'));
    fireEvent.click(screen.getByTestId('nav-settings'));
    await waitFor(() => expect(window.location.hash).toBe('#/settings'));
  });

  it('restores the view after a remount', async () => {
    app = renderApp(plane);
    fireEvent.click(await screen.findByTestId('nav-latency'));
    await waitFor(() => expect(window.location.hash).toBe('#/latency'));
    const hash = window.location.hash;
    app.unmount();
    cleanup();
    window.location.hash = hash;
    app = renderApp(plane);
    expect(await screen.findByTestId('latency-view')).toBeTruthy();
  });

  it('falls back to nodes and rewrites an unknown hash', async () => {
    window.location.hash = '#/no-such-view';
    app = renderApp(plane);
    expect(await screen.findByTestId('nodes-view')).toBeTruthy();
    await waitFor(() => expect(window.location.hash).toBe('#/nodes'));
  });

  it('follows hash changes from back and forward', async () => {
    app = renderApp(plane);
    await screen.findByTestId('nodes-view');
    act(() => {
      window.location.hash = '#/routing';
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    });
    expect(await screen.findByTestId('routing-view')).toBeTruthy();
    expect(app.store.getState().view).toBe('routing');
  });
});

describe('view hash edits', () => {
  it('rewrites an unknown hash typed later', async () => {
    app = renderApp(plane);
    await screen.findByTestId('nodes-view');
    await waitFor(() => expect(window.location.hash).toBe('#/nodes'));
    act(() => {
      window.location.hash = '#/bogus';
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    });
    expect(window.location.hash).toBe('#/nodes');
    expect(screen.getByTestId('nodes-view')).toBeTruthy();
  });
});

describe('live figures strip', () => {
  it('chart is no tab stop and hidden from screen readers', async () => {
    app = renderApp(plane);
    const chart = await screen.findByTestId('figures-chart');
    expect(chart.getAttribute('aria-hidden')).toBe('true');
    await waitFor(() => expect(chart.querySelector('svg')).not.toBeNull());
    const svg = chart.querySelector('svg')!;
    expect(svg.getAttribute('tabindex')).toBeNull();
    expect(svg.getAttribute('role')).toBeNull();
    const tabStops = [...chart.querySelectorAll('[tabindex]')].filter((element) => Number(element.getAttribute('tabindex')) >= 0);
    expect(tabStops).toHaveLength(0);
  });

  it('gives every node p50 as text', async () => {
    app = renderApp(plane);
    const figures = await screen.findAllByTestId('figure-node');
    expect(figures.map((figure) => figure.textContent)).toEqual([
      expect.stringContaining('alpha p50410 ms'),
      expect.stringContaining('beta p50120 ms'),
    ]);
  });
});
