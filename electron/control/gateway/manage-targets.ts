import type { NodeKind, NodeView } from '../../../shared/types';

/** Request header that names the nodes (by name or id, comma-separated) a model operation targets. */
export const nodeHeaderName = 'x-synaptic-node';

export type ManageOperation = 'pull' | 'delete' | 'copy' | 'push' | 'create';

export type TargetOutcome<T> = { ok: true; value: T } | { ok: false; status: number; message: string };

/**
 * Node kinds that have their own model store. The embedded node serves GGUF files in place and
 * a llama-server runs the one model it was started with, so neither can pull, delete or copy.
 */
const managingKinds: ReadonlySet<NodeKind> = new Set<NodeKind>(['ollama', 'simulated']);

export function canManageModels(kind: NodeKind): boolean {
  return managingKinds.has(kind);
}

function isServing(node: NodeView): boolean {
  return node.health === 'up' || node.health === 'degraded';
}

/**
 * Picks the nodes a fleet-wide operation (pull, delete, copy) goes to: the nodes named in
 * `X-Synaptic-Node`, or else every node that can manage models and is up or degraded.
 */
export function fanOutTargets(
  fleet: NodeView[],
  header: string | string[] | undefined,
  operation: ManageOperation,
): TargetOutcome<NodeView[]> {
  const named = namedNodes(fleet, header, operation);
  if (!named.ok) return named;
  if (named.value) return { ok: true, value: named.value };
  const nodes = fleet.filter((node) => canManageModels(node.kind) && isServing(node));
  if (nodes.length === 0) return { ok: false, status: 503, message: `no Ollama node is up to ${operation} models` };
  return { ok: true, value: nodes };
}

/**
 * Picks the one node that push, create and blob uploads go to: the node named in
 * `X-Synaptic-Node`, or the only node that can manage models and is up. Several candidates
 * without the header is an error, because a blob uploaded to one node is useless to another.
 */
export function singleTarget(
  fleet: NodeView[],
  header: string | string[] | undefined,
  operation: ManageOperation,
): TargetOutcome<NodeView> {
  const named = namedNodes(fleet, header, operation);
  if (!named.ok) return named;
  if (named.value) {
    if (named.value.length !== 1) {
      const names = named.value.map((node) => node.name).join(', ');
      return { ok: false, status: 400, message: `${operation} needs exactly one node, but ${nodeHeaderName} names ${named.value.length}: ${names}` };
    }
    return { ok: true, value: named.value[0] };
  }
  const candidates = fleet.filter((node) => canManageModels(node.kind) && isServing(node));
  if (candidates.length === 1) return { ok: true, value: candidates[0] };
  if (candidates.length === 0) return { ok: false, status: 503, message: `no Ollama node is up to ${operation} models` };
  const names = candidates.map((node) => node.name).join(', ');
  return {
    ok: false,
    status: 400,
    message: `${operation} needs one node and ${candidates.length} are up (${names}): pick one with the ${nodeHeaderName} header`,
  };
}

/**
 * Resolves the `X-Synaptic-Node` header to nodes; `value` is undefined when the header is absent
 * or empty. Each entry matches a node id exactly or a node name ignoring case.
 */
export function namedNodes(
  fleet: NodeView[],
  header: string | string[] | undefined,
  operation: ManageOperation,
): TargetOutcome<NodeView[] | undefined> {
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) {
    if (header === undefined) return { ok: true, value: undefined };
    return { ok: false, status: 400, message: `${nodeHeaderName} is present but names no node; name at least one node, or leave the header out` };
  }

  const nodes: NodeView[] = [];
  for (const entry of entries) {
    const node = fleet.find((n) => n.id === entry) ?? fleet.find((n) => n.name.toLowerCase() === entry.toLowerCase());
    if (!node) {
      const known = fleet.map((n) => n.name).join(', ') || 'none';
      return { ok: false, status: 400, message: `unknown node '${entry}' in ${nodeHeaderName}; nodes in the fleet: ${known}` };
    }
    if (!canManageModels(node.kind)) {
      const article = /^[aeiou]/.test(node.kind) ? 'an' : 'a';
      return { ok: false, status: 400, message: `node '${node.name}' is ${article} ${node.kind} node, which cannot ${operation} models; name an Ollama node` };
    }
    if (!isServing(node)) {
      const reason = node.lastError ? `: ${node.lastError}` : '';
      return { ok: false, status: 503, message: `node '${node.name}' is ${node.health}${reason}` };
    }
    if (!nodes.includes(node)) nodes.push(node);
  }
  return { ok: true, value: nodes };
}
