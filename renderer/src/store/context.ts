import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { AppStore } from './app-store';
import type { AppState } from './types';

export const StoreContext = createContext<AppStore | null>(null);

/** Selects a narrow part of the app state; components re-render only when it changes. */
export function useApp<T>(selector: (state: AppState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useApp must be used inside <StoreContext.Provider>');
  return useStore(store, selector);
}
