import type { ChatSlice, SliceContext } from './types';
import { applyProgress, withDraftTurn } from './conversation-merge';

export function createChatSlice({ client, set, get }: SliceContext): ChatSlice {
  return {
    conversations: [],
    activeConversation: null,
    models: [],
    model: '',
    mode: 'pipeline',
    sending: false,
    chatError: null,
    async loadConversations() {
      const result = await client.invoke('chat:list', {});
      if (!result.ok) {
        set({ chatError: result.error.message });
        return;
      }
      const newestFirst = [...result.value].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
      set({ conversations: newestFirst });
    },
    async loadModels() {
      const result = await client.invoke('models:list', {});
      if (!result.ok) return;
      const models = result.value;
      const current = get().model;
      const keep = models.some((model) => model.name === current);
      set({ models, model: keep ? current : (models[0]?.name ?? '') });
    },
    async openConversation(id) {
      const result = await client.invoke('chat:get', { id });
      if (result.ok) set({ activeConversation: result.value, chatError: null });
      else set({ chatError: result.error.message });
    },
    newConversation() {
      if (get().sending) return;
      set({ activeConversation: null, chatError: null });
    },
    setModel(model) {
      set({ model });
    },
    setMode(mode) {
      set({ mode });
    },
    async send(question) {
      const { model, mode, sending, activeConversation } = get();
      if (sending) return;
      if (!question.trim()) {
        set({ chatError: 'Type a question first.' });
        return;
      }
      if (!model) {
        set({ chatError: 'Pick a model first; no node reports any model yet.' });
        return;
      }
      set({
        sending: true,
        chatError: null,
        activeConversation: withDraftTurn(activeConversation, question, model, mode, new Date().toISOString()),
      });
      const result = await client.invoke('chat:send', {
        question,
        model,
        mode,
        conversationId: activeConversation?.id || undefined,
      });
      set({ sending: false });
      if (!result.ok) {
        set({ chatError: result.error.message });
        const draft = get().activeConversation;
        if (draft?.id) await get().openConversation(draft.id);
        return;
      }
      await Promise.all([get().openConversation(result.value.conversationId), get().loadConversations()]);
    },
    applyAgentProgress(progress) {
      const state = get();
      const next = applyProgress(state.activeConversation, progress, state.sending);
      if (next) set({ activeConversation: next });
    },
  };
}
