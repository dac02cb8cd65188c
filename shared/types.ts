/** Plain data shared by the control plane and the renderer. No Node or DOM imports here. */

export type NodeHealth = 'unknown' | 'up' | 'degraded' | 'down';
export type NodeKind = 'ollama' | 'embedded' | 'llama-server' | 'simulated';

/** Where a loaded model sits: all layers on GPU, some, or none (Ollama's `size_vram`). */
export type Placement = 'gpu' | 'partial' | 'cpu';

export type LoadedModel = {
  name: string;
  digest: string;
  sizeBytes: number;
  sizeVramBytes: number;
  placement: Placement;
  contextLength?: number;
  expiresAt?: string;
};

export type NodeModel = {
  name: string;
  digest: string;
  sizeBytes: number;
  family?: string;
  parameterSize?: string;
  quantizationLevel?: string;
};

/** A node as the renderer sees it. */
export type NodeView = {
  id: string;
  url: string;
  name: string;
  kind: NodeKind;
  health: NodeHealth;
  version?: string;
  lastError?: string;
  lastCheckedAt?: string;
  consecutiveFailures: number;
  models: NodeModel[];
  loaded: LoadedModel[];
  inFlight: number;
  ewmaLatencyMs?: number;
  /** User-entered GPU memory, in bytes, when known. */
  gpuVramBytes?: number;
  problems: NodeProblem[];
};

export type NodeProblem = {
  kind: string;
  message: string;
  since: string;
};

export type RouteAlternative = {
  nodeId: string;
  nodeName: string;
  score?: number;
  reason: string;
};

/** One routing decision, as logged and shown in the routing trace. */
export type RouteDecision = {
  id: string;
  at: string;
  endpoint: string;
  model: string;
  nodeId: string | null;
  nodeName: string | null;
  strategy: string;
  reason: string;
  factors: Record<string, number>;
  alternatives: RouteAlternative[];
  attempt: number;
  outcome?: 'ok' | 'error' | 'cancelled' | 'retried' | 'not_found' | 'unavailable';
  latencyMs?: number;
  ttftMs?: number;
  status?: number;
  error?: string;
  /** Generated tokens and generation time reported by the node's final line. */
  evalCount?: number;
  evalDurationNs?: number;
};

export type AgentRole = 'researcher' | 'critic' | 'editor';
export type AgentMode = 'pipeline' | 'parallel';

export type AgentStep = {
  id: string;
  agent: string;
  status: 'pending' | 'running' | 'done' | 'error';
  nodeId?: string;
  nodeName?: string;
  model: string;
  text: string;
  /** Parsed JSON output when the model returned valid JSON for the agent's schema. */
  output?: unknown;
  raw: boolean;
  retried: boolean;
  latencyMs?: number;
  promptTokens?: number;
  completionTokens?: number;
  error?: string;
};

export type Conversation = {
  id: string;
  title: string;
  createdAt: string;
  updatedAt: string;
  turns: ConversationTurn[];
};

export type ConversationTurn = {
  id: string;
  question: string;
  model: string;
  mode: AgentMode;
  startedAt: string;
  finishedAt?: string;
  steps: AgentStep[];
  answer?: string;
  status: 'running' | 'done' | 'error';
};

export type AgentProgress = {
  conversationId: string;
  turnId: string;
  step: AgentStep;
  delta?: string;
};

export type NodeFigures = {
  nodeId: string;
  nodeName: string;
  requests: number;
  errors: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
  inFlight: number;
};

export type LiveFigures = {
  at: string;
  totalRequests: number;
  nodes: NodeFigures[];
};

export type LogLine = {
  time: number;
  level: string;
  component: string;
  msg: string;
};

export type GatewayStatus = {
  host: string;
  port: number | null;
  listening: boolean;
  fallbackUsed: boolean;
  message: string;
};

/** Payload of the `placement:action` event: one step of the GPU placement controller. */
export type PlacementAction = {
  at: string;
  nodeId: string;
  nodeName: string;
  model: string;
  action: 'advise' | 'reload' | 'prewarm' | 'skip';
  outcome: 'started' | 'succeeded' | 'failed' | 'advised' | 'skipped';
  placement?: Placement;
  detail: string;
};

export type BreakerStateName = 'closed' | 'open' | 'half_open' | 'probation';

/** Payload of the `breaker:state` event: a node's circuit breaker changed state. */
export type BreakerChange = { nodeId: string; from: BreakerStateName; to: BreakerStateName; reason: string; at: string };

/** Payload of the `hedge:stats` event and part of `routing:stats`. */
export type HedgeStats = { requests: number; sent: number; won: number; cancelled: number; skippedByBudget: number };
