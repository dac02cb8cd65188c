import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ScanProgress } from '../../../shared/api/discovery';
import type { DistributedModelView, LlamaBuildProgress } from '../../../shared/api/distributed';
import type { EventFrame } from '../../../shared/events';
import type { MetricsTick, PlacementActionView } from '../../../shared/api/metrics';
import type { AgentProgress, LiveFigures, LogLine, NodeView, RouteDecision } from '../../../shared/types';
import type { SynapticClient } from '../client/types';
import { createChatSlice } from './chat-slice';
import { createDashboardSlice } from './dashboard-slice';
import { createDiscoverySlice } from './discovery-slice';
import { createDistributedSlice } from './distributed-slice';
import { createFiguresSlice } from './figures-slice';
import { createNodesSlice } from './nodes-slice';
import { createRoutingSlice } from './routing-slice';
import { createSettingsSlice } from './settings-slice';
import type { AppState, SliceContext, Theme, View } from './types';
import { createUiSlice } from './ui-slice';

export type AppStore = StoreApi<AppState>;

export function createAppStore(
  client: SynapticClient,
  options: { initialTheme?: Theme; initialView?: View; now?: () => number } = {},
): AppStore {
  return createStore<AppState>()((set, get) => {
    const context: SliceContext = { client, set, get };
    return {
      ...createNodesSlice(context),
      ...createChatSlice(context),
      ...createRoutingSlice(context),
      ...createFiguresSlice(context, options.now ?? Date.now),
      ...createUiSlice(context, options.initialTheme ?? 'light', options.initialView),
      ...createDashboardSlice(context),
      ...createDistributedSlice(context),
      ...createDiscoverySlice(context),
      ...createSettingsSlice(context),
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
    case 'metrics:tick':
      state.applyMetricsTick(frame.payload as MetricsTick);
      break;
    case 'placement:action':
      state.applyPlacementAction(frame.payload as PlacementActionView);
      break;
    case 'breaker:state':
      state.applyBreaker(frame.payload as Parameters<AppState['applyBreaker']>[0]);
      break;
    case 'distributed:layers':
      state.applyLayers(frame.payload as Parameters<AppState['applyLayers']>[0]);
      break;
    case 'rpc:state':
      state.applyRpcState(frame.payload as Parameters<AppState['applyRpcState']>[0]);
      break;
    case 'discovery:progress':
      state.applyDiscoveryProgress(frame.payload as ScanProgress);
      break;
    case 'distributed:state':
      state.applyDistributedState(frame.payload as DistributedModelView);
      break;
    case 'distributed:removed': {
      const id = (frame.payload as { id?: unknown } | null)?.id;
      if (typeof id === 'string') state.removeDistributedModel(id);
      break;
    }
    case 'llama:build-progress':
      state.applyBuildProgress(frame.payload as LlamaBuildProgress);
      break;
    case 'log:line':
      state.applyLogLine(frame.payload as LogLine);
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
    void state.loadMetrics();
    void state.loadDistributed();
    void state.loadBinaries();
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
