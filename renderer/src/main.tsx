import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { pickClient } from './client/pick-client';
import { initialTheme } from './lib/theme';
import { viewFromHash } from './lib/view-hash';
import { connectStore, createAppStore } from './store/app-store';
import { StoreContext } from './store/context';
import './styles.css';

const client = pickClient();
const store = createAppStore(client, { initialTheme: initialTheme(), initialView: viewFromHash(window.location.hash) });
connectStore(store, client);

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');
createRoot(container).render(
  <StrictMode>
    <StoreContext.Provider value={store}>
      <App />
    </StoreContext.Provider>
  </StrictMode>,
);
