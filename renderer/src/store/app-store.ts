import { createStore, type StoreApi } from 'zustand/vanilla';
import type { EventFrame } from '../../../shared/events';
import type { AgentProgress, LiveFigures, NodeView, RouteDecision } from '../../../shared/types';
import type { SynapticClient } from '../client/types';
import { createChatSlice } from './chat-slice';
import { createFiguresSlice } from './figures-slice';
import { createNodesSlice } from './nodes-slice';
import { createRoutingSlice } from './routing-slice';
import type { AppState, SliceContext, Theme } from './types';
import { createUiSlice } from './ui-slice';

export type AppStore = StoreApi<AppState>;

export function createAppStore(
  client: SynapticClient,
  options: { initialTheme?: Theme; now?: () => number } = {},
): AppStore {
  return createStore<AppState>()((set, get) => {
    const context: SliceContext = { client, set, get };
    return {
      ...createNodesSlice(context),
      ...createChatSlice(context),
      ...createRoutingSlice(context),
      ...createFiguresSlice(context, options.now ?? Date.now),
      ...createUiSlice(context, options.initialTheme ?? 'light'),
    };
  });
}

/** Routes one pushed event into the store. Unknown event types are ignored. */
export function applyEvent(store: AppStore, frame: EventFrame): void {
  const state = store.getState();
  switch (frame.type) {
    case 'node:state':
      state.applyNodeState(frame.payload as NodeView);
      break;
    case 'node:removed':
      state.applyNodeRemoved((frame.payload as { id: string }).id);
      break;
    case 'route:decision':
      state.applyDecision(frame.payload as RouteDecision);
      break;
    case 'agent:progress':
      state.applyAgentProgress(frame.payload as AgentProgress);
      break;
    case 'stats:figures':
      state.applyFigures(frame.payload as LiveFigures);
      break;
    default:
      break;
  }
}

/** Polls figures when no `stats:figures` event came for this long, in milliseconds. */
const FIGURES_STALE_MS = 5_000;

/**
 * Connects the store to the client: loads everything on each (re)connect, applies pushed
 * events, and polls figures and models while events are quiet. Returns the stop function.
 */
export function connectStore(store: AppStore, client: SynapticClient, now: () => number = Date.now): () => void {
  const refresh = () => {
    const state = store.getState();
    void state.loadNodes();
    void state.loadModels();
    void state.loadConversations();
    void state.loadDecisions();
    void state.loadFigures();
  };
  const stopEvents = client.on((frame) => applyEvent(store, frame));
  const stopConnection = client.onConnection((connection) => {
    store.getState().setConnection(connection);
    if (connection === 'open') refresh();
  });
  if (client.transport === 'http') refresh();
  const poll = setInterval(() => {
    const state = store.getState();
    if (now() - state.figuresAt >= FIGURES_STALE_MS) void state.loadFigures();
    void state.loadModels();
  }, FIGURES_STALE_MS);
  return () => {
    clearInterval(poll);
    stopEvents();
    stopConnection();
  };
}
