import { MAX_DECISIONS, type RoutingSlice, type SliceContext } from './types';

export function createRoutingSlice({ client, set }: SliceContext): RoutingSlice {
  return {
    decisions: [],
    async loadDecisions() {
      const result = await client.invoke('router:decisions', { limit: MAX_DECISIONS });
      if (!result.ok) return;
      const newestFirst = [...result.value].sort((a, b) => b.at.localeCompare(a.at));
      set({ decisions: newestFirst.slice(0, MAX_DECISIONS) });
    },
    applyDecision(decision) {
      set((state) => {
        const others = state.decisions.filter((existing) => existing.id !== decision.id);
        return { decisions: [decision, ...others].slice(0, MAX_DECISIONS) };
      });
    },
  };
}
