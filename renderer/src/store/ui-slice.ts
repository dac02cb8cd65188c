import type { SliceContext, Theme, UiSlice, View } from './types';

export function createUiSlice({ set }: SliceContext, initialTheme: Theme, initialView: View = 'nodes'): UiSlice {
  return {
    view: initialView,
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
