import type { FiguresSlice, SliceContext } from './types';

export function createFiguresSlice({ client, set }: SliceContext, now: () => number): FiguresSlice {
  return {
    figures: null,
    figuresAt: 0,
    async loadFigures() {
      const result = await client.invoke('stats:figures', {});
      if (result.ok) set({ figures: result.value, figuresAt: now() });
    },
    applyFigures(figures) {
      set({ figures, figuresAt: now() });
    },
  };
}
