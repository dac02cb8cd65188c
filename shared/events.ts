import type { NodeView, RouteDecision, AgentProgress, LiveFigures, LogLine, PlacementAction, BreakerChange, HedgeStats } from './types';

/**
 * Events pushed from the control plane to every renderer (IPC `event` channel in Electron,
 * the `/events` WebSocket in serve mode). Each frame is `{ type, payload }`.
 */
export type EventMap = {
  'node:state': NodeView;
  'node:removed': { id: string };
  'route:decision': RouteDecision;
  'agent:progress': AgentProgress;
  'stats:figures': LiveFigures;
  'log:line': LogLine;
  'placement:action': PlacementAction;
  'breaker:state': BreakerChange;
  'hedge:stats': HedgeStats;
  /** A distributed model was stopped or failed to start, and its id is no longer listed. */
  'distributed:removed': { id: string };
  [extra: `${string}:${string}`]: unknown;
};

export type EventName = keyof EventMap & string;
export type EventFrame = { type: string; payload: unknown };
