import { render } from '@testing-library/react';
import { App } from '../../renderer/src/App';
import { connectStore, createAppStore } from '../../renderer/src/store/app-store';
import { StoreContext } from '../../renderer/src/store/context';
import type { FakePlane } from './fake-plane';

/** Renders the whole app against a fake plane, as main.tsx does against a real client. */
export function renderApp(plane: FakePlane) {
  const client = plane.client();
  const store = createAppStore(client, { initialTheme: 'light' });
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
    },
  };
}
