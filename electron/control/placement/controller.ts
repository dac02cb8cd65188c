import type { Placement } from '../../../shared/types';
import type { EventBus } from '../core/event-bus';
import type { Logger } from '../core/logger';
import { classifyPlacement, gpuCapacity } from './classify';
import { fetchBlockCount, fetchPs, loadModel, unloadModel, type PsEntry } from './ollama-admin';
import { planPlacement } from './plan';

/** A node the controller may inspect. */
export type PlacementNode = { id: string; name: string; url: string; gpuVramBytes?: number };

/** Payload of the `placement:action` event; one per attempt step and outcome. */
export type PlacementActionEvent = {
  at: string;
  nodeId: string;
  nodeName: string;
  model: string;
  action: 'advise' | 'reload' | 'prewarm' | 'skip';
  outcome: 'started' | 'succeeded' | 'failed' | 'advised' | 'skipped';
  placement?: Placement;
  detail: string;
};

export type PlacementControllerOptions = {
  log: Logger;
  events?: EventBus;
  now?: () => number;
  nodes: () => PlacementNode[];
  /** Requests now running for (node, model); the controller never reloads a busy model. */
  inFlight: (nodeId: string, model: string) => number;
  /** GPU memory reported by an agent on the node, when one runs there. */
  agentVramBytes?: (node: PlacementNode) => Promise<number | undefined>;
  /** Milliseconds between two attempts on the same (node, model). */
  cooldownMs?: number;
  /** keep_alive sent with reloads and pre-warm loads, in Ollama's format. */
  keepAlive?: string | number;
  /** Timeout of one load request, in milliseconds. */
  loadTimeoutMs?: number;
  /** (model, node ids) pairs to load at start and when a node recovers. */
  prewarm?: Array<{ model: string; nodeIds: string[] }>;
};

type NodeState = { loaded: Array<PsEntry & { placement: Placement }>; largestVramSeen: number; checkedAt: number };

/**
 * Closes the loop between routing and GPU placement. After each routed request and each health
 * pass it reads the node's `/api/ps`. A model that landed partly or wholly on CPU on a node with
 * room is either avoided, because `nodesWithModelOnGpu` lists other nodes with a full GPU copy for
 * the router, or reloaded with `num_gpu` = block_count + 1 and checked again with `/api/ps`.
 */
export class PlacementController {
  private readonly state = new Map<string, NodeState>();
  private readonly attempts = new Map<string, number>();
  private readonly running = new Map<string, Promise<PlacementActionEvent[]>>();
  private readonly now: () => number;
  private readonly cooldownMs: number;
  private readonly keepAlive: string | number;
  private readonly loadTimeoutMs: number;

  constructor(private readonly options: PlacementControllerOptions) {
    this.now = options.now ?? Date.now;
    this.cooldownMs = options.cooldownMs ?? 10 * 60_000;
    this.keepAlive = options.keepAlive ?? '30m';
    this.loadTimeoutMs = options.loadTimeoutMs ?? 120_000;
  }

  /** Inspects a node after a routed request finished there. Errors are logged, not thrown. */
  afterRequest(nodeId: string): void {
    this.inspect(nodeId).catch((error: unknown) => this.options.log.error({ nodeId, err: error }, 'Placement inspection failed'));
  }

  /** Inspects a node after its health pass. Errors are logged, not thrown. */
  onHealthPass(nodeId: string): void {
    this.inspect(nodeId).catch((error: unknown) => this.options.log.error({ nodeId, err: error }, 'Placement inspection failed'));
  }

  /** Pre-warms a node's configured models when it comes back up. Errors are logged, not thrown. */
  onNodeRecovered(nodeId: string): void {
    this.prewarm([nodeId]).catch((error: unknown) => this.options.log.error({ nodeId, err: error }, 'Pre-warming failed'));
  }

  /** Nodes that hold `model` entirely on GPU, per the last `/api/ps` of each; router advice. */
  nodesWithModelOnGpu(model: string): string[] {
    const key = model.toLowerCase();
    return [...this.state.entries()].filter(([, s]) => s.loaded.some((m) => m.name.toLowerCase() === key && m.placement === 'gpu')).map(([id]) => id);
  }

  /** Returns where `model` sits on a node per its last `/api/ps`, or undefined when not loaded. */
  placementOf(nodeId: string, model: string): Placement | undefined {
    const key = model.toLowerCase();
    return this.state.get(nodeId)?.loaded.find((m) => m.name.toLowerCase() === key)?.placement;
  }

  /**
   * Reads a node's `/api/ps` and acts on every model that is not fully on GPU. Concurrent calls
   * for one node share one inspection. Returns the events it published.
   */
  inspect(nodeId: string): Promise<PlacementActionEvent[]> {
    const existing = this.running.get(nodeId);
    if (existing) return existing;
    const run = this.inspectNow(nodeId).finally(() => this.running.delete(nodeId));
    this.running.set(nodeId, run);
    return run;
  }

  /** Loads each configured (model, node) pair; limited to `nodeIds` when given. */
  async prewarm(nodeIds?: string[]): Promise<PlacementActionEvent[]> {
    const published: PlacementActionEvent[] = [];
    for (const pair of this.options.prewarm ?? []) {
      for (const nodeId of pair.nodeIds) {
        if (nodeIds && !nodeIds.includes(nodeId)) continue;
        const node = this.node(nodeId);
        if (!node) continue;
        published.push(this.publish(node, pair.model, 'prewarm', 'started', `loading ${pair.model} with keep_alive ${this.keepAlive}`));
        try {
          await loadModel(node.url, pair.model, this.keepAlive, undefined, this.loadTimeoutMs);
          published.push(this.publish(node, pair.model, 'prewarm', 'succeeded', `${pair.model} loaded`));
        } catch (error) {
          published.push(this.publish(node, pair.model, 'prewarm', 'failed', (error as Error).message));
        }
      }
      for (const nodeId of pair.nodeIds) {
        if (!nodeIds || nodeIds.includes(nodeId)) published.push(...(await this.inspect(nodeId)));
      }
    }
    return published;
  }

  private async inspectNow(nodeId: string): Promise<PlacementActionEvent[]> {
    const node = this.node(nodeId);
    if (!node) return [];
    const published: PlacementActionEvent[] = [];
    let loaded: NodeState['loaded'];
    try {
      loaded = await this.readPs(node);
    } catch (error) {
      this.options.log.warn({ nodeId, err: error }, 'Reading /api/ps failed');
      return published;
    }

    const capacity = gpuCapacity({
      userVramBytes: node.gpuVramBytes,
      agentVramBytes: this.options.agentVramBytes ? await this.options.agentVramBytes(node).catch(() => undefined) : undefined,
      largestVramSeenBytes: this.state.get(nodeId)?.largestVramSeen,
    });

    for (const entry of loaded) {
      if (entry.placement === 'gpu') continue;
      const decision = planPlacement({
        nodeId,
        model: entry.name,
        sizeBytes: entry.size,
        placement: entry.placement,
        capacityBytes: capacity?.bytes,
        otherModelsVramBytes: loaded.filter((m) => m !== entry).reduce((sum, m) => sum + m.size_vram, 0),
        nodesWithModelOnGpu: this.nodesWithModelOnGpu(entry.name).filter((id) => id !== nodeId),
        inFlight: this.options.inFlight(nodeId, entry.name),
        lastAttemptAt: this.attempts.get(`${nodeId}|${entry.name}`),
        cooldownMs: this.cooldownMs,
        now: this.now(),
      });
      if (decision.kind === 'advise') published.push(this.publish(node, entry.name, 'advise', 'advised', decision.reason, entry.placement));
      else if (decision.kind === 'skip') this.options.log.debug({ nodeId, model: entry.name, reason: decision.reason }, 'Placement left as is');
      else if (decision.kind === 'reload') published.push(...(await this.reload(node, entry.name, decision.reason)));
    }
    return published;
  }

  /** Unloads the model, reloads it with every layer on GPU and checks `/api/ps` again. */
  private async reload(node: PlacementNode, model: string, reason: string): Promise<PlacementActionEvent[]> {
    const published: PlacementActionEvent[] = [];
    this.attempts.set(`${node.id}|${model}`, this.now());
    try {
      const blockCount = await fetchBlockCount(node.url, model);
      const numGpu = blockCount + 1;
      if (this.options.inFlight(node.id, model) > 0) {
        published.push(this.publish(node, model, 'skip', 'skipped', 'a request started before the unload; leaving the model loaded'));
        return published;
      }
      published.push(this.publish(node, model, 'reload', 'started', `${reason}; reloading with num_gpu ${numGpu}`));
      await unloadModel(node.url, model);
      await loadModel(node.url, model, this.keepAlive, numGpu, this.loadTimeoutMs);
      const after = (await this.readPs(node)).find((m) => m.name.toLowerCase() === model.toLowerCase());
      if (after?.placement === 'gpu') {
        published.push(this.publish(node, model, 'reload', 'succeeded', `${model} is now fully on GPU`, 'gpu'));
      } else {
        const where = after ? `${after.placement} (${after.size_vram} of ${after.size} bytes on GPU)` : 'not loaded';
        published.push(this.publish(node, model, 'reload', 'failed', `after reload ${model} is ${where}`, after?.placement));
      }
    } catch (error) {
      published.push(this.publish(node, model, 'reload', 'failed', (error as Error).message));
    }
    return published;
  }

  private async readPs(node: PlacementNode): Promise<NodeState['loaded']> {
    const entries = await fetchPs(node.url);
    const loaded = entries.map((e) => ({ ...e, placement: classifyPlacement(e.size, e.size_vram) }));
    const totalVram = loaded.reduce((sum, m) => sum + m.size_vram, 0);
    const previous = this.state.get(node.id);
    this.state.set(node.id, { loaded, largestVramSeen: Math.max(previous?.largestVramSeen ?? 0, totalVram), checkedAt: this.now() });
    return loaded;
  }

  private node(nodeId: string): PlacementNode | undefined {
    return this.options.nodes().find((n) => n.id === nodeId);
  }

  private publish(
    node: PlacementNode,
    model: string,
    action: PlacementActionEvent['action'],
    outcome: PlacementActionEvent['outcome'],
    detail: string,
    placement?: Placement,
  ): PlacementActionEvent {
    const event: PlacementActionEvent = { at: new Date(this.now()).toISOString(), nodeId: node.id, nodeName: node.name, model, action, outcome, detail, ...(placement ? { placement } : {}) };
    const level = outcome === 'failed' ? 'warn' : 'info';
    this.options.log[level]({ nodeId: node.id, model, action, outcome, detail }, 'Placement action');
    this.options.events?.emit('placement:action', event);
    return event;
  }
}
