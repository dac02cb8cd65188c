import type { SliceContext, Theme, UiSlice } from './types';

export function createUiSlice({ set }: SliceContext, initialTheme: Theme): UiSlice {
  return {
    view: 'nodes',
    theme: initialTheme,
    connection: 'connecting',
    setView(view) {
      set({ view });
    },
    setTheme(theme) {
      set({ theme });
    },
    setConnection(connection) {
      set({ connection });
    },
  };
}
