import { render } from '@testing-library/react';
import { App } from '../../renderer/src/App';
import { viewFromHash } from '../../renderer/src/lib/view-hash';
import { connectStore, createAppStore } from '../../renderer/src/store/app-store';
import { StoreContext } from '../../renderer/src/store/context';
import type { FakePlane } from './fake-plane';

/**
 * Renders the whole app against a fake plane, as main.tsx does against a real client, starting
 * in the view named by the URL hash.
 */
export function renderApp(plane: FakePlane) {
  const client = plane.client();
  const store = createAppStore(client, { initialTheme: 'light', initialView: viewFromHash(window.location.hash) });
  const disconnect = connectStore(store, client);
  const view = render(
    <StoreContext.Provider value={store}>
      <App />
    </StoreContext.Provider>,
  );
  return {
    store,
    ...view,
    unmount: () => {
      view.unmount();
      disconnect();
      // The app writes the current view into the URL hash, and the next test starts from a clean URL.
      window.history.replaceState(null, '', window.location.pathname + window.location.search);
    },
  };
}
