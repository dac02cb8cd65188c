import type { ModelSummary } from '../../../shared/api/system';
import type { ApiResult } from '../../../shared/result';
import type {
  AgentMode,
  AgentProgress,
  Conversation,
  LiveFigures,
  NodeView,
  RouteDecision,
} from '../../../shared/types';
import type { ConnectionState, SynapticClient } from '../client/types';
import type { DashboardSlice } from './dashboard-slice';
import type { DiscoverySlice } from './discovery-slice';
import type { DistributedSlice } from './distributed-slice';
import type { SettingsSlice } from './settings-slice';

export type View = 'nodes' | 'chat' | 'routing' | 'map' | 'vram' | 'layers' | 'latency' | 'discovery' | 'settings' | 'distributed';
export type Theme = 'light' | 'dark';

export type NodesSlice = {
  nodes: NodeView[];
  nodesError: string | null;
  loadNodes(): Promise<void>;
  addNode(input: { url: string; name?: string }): Promise<ApiResult<NodeView>>;
  removeNode(id: string): Promise<ApiResult<{ removed: boolean }>>;
  /** Runs a health check now; the refreshed node also arrives as a `node:state` event. */
  checkNode(id: string): Promise<ApiResult<NodeView>>;
  applyNodeState(node: NodeView): void;
  applyNodeRemoved(id: string): void;
};

export type ChatSlice = {
  conversations: Conversation[];
  activeConversation: Conversation | null;
  models: ModelSummary[];
  model: string;
  mode: AgentMode;
  sending: boolean;
  chatError: string | null;
  loadConversations(): Promise<void>;
  loadModels(): Promise<void>;
  openConversation(id: string): Promise<void>;
  newConversation(): void;
  setModel(model: string): void;
  setMode(mode: AgentMode): void;
  send(question: string): Promise<void>;
  applyAgentProgress(progress: AgentProgress): void;
};

export type RoutingSlice = {
  decisions: RouteDecision[];
  loadDecisions(): Promise<void>;
  applyDecision(decision: RouteDecision): void;
};

export type FiguresSlice = {
  figures: LiveFigures | null;
  figuresAt: number;
  loadFigures(): Promise<void>;
  applyFigures(figures: LiveFigures): void;
};

export type UiSlice = {
  view: View;
  theme: Theme;
  connection: ConnectionState;
  setView(view: View): void;
  setTheme(theme: Theme): void;
  setConnection(state: ConnectionState): void;
};

export type AppState = NodesSlice & ChatSlice & RoutingSlice & FiguresSlice & UiSlice & DashboardSlice & DiscoverySlice & SettingsSlice & DistributedSlice;

export type SliceContext = {
  client: SynapticClient;
  set: (partial: Partial<AppState> | ((state: AppState) => Partial<AppState>)) => void;
  get: () => AppState;
};

/** Most routing decisions kept in memory for the Routing view. */
export const MAX_DECISIONS = 200;
