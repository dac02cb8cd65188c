import type { NodesSlice, SliceContext } from './types';

export function createNodesSlice({ client, set, get }: SliceContext): NodesSlice {
  return {
    nodes: [],
    nodesError: null,
    async loadNodes() {
      const result = await client.invoke('nodes:list', {});
      if (result.ok) set({ nodes: result.value, nodesError: null });
      else set({ nodesError: result.error.message });
    },
    async addNode(input) {
      const result = await client.invoke('nodes:add', input);
      if (result.ok) get().applyNodeState(result.value);
      return result;
    },
    async removeNode(id) {
      const result = await client.invoke('nodes:remove', { id });
      if (result.ok) get().applyNodeRemoved(id);
      return result;
    },
    async checkNode(id) {
      const result = await client.invoke('nodes:check', { id });
      if (result.ok) get().applyNodeState(result.value);
      return result;
    },
    applyNodeState(node) {
      set((state) => {
        const index = state.nodes.findIndex((existing) => existing.id === node.id);
        if (index === -1) return { nodes: [...state.nodes, node] };
        const nodes = state.nodes.slice();
        nodes[index] = node;
        return { nodes };
      });
    },
    applyNodeRemoved(id) {
      set((state) => ({ nodes: state.nodes.filter((node) => node.id !== id) }));
    },
  };
}
