/** One node's failure in a fleet-wide model operation. */
export type NodeFailure = {
  node: string;
  error: string;
  /** HTTP status the node returned before any body, when it returned one. */
  status?: number;
};

/**
 * Writes one error message for a fleet-wide operation that failed on some nodes, grouping nodes
 * that failed the same way, e.g. `pull of 'x' failed on nodes b, c: file does not exist (succeeded on a)`.
 */
export function describeNodeFailures(action: string, failures: NodeFailure[], succeeded: string[] = []): string {
  const groups = new Map<string, string[]>();
  for (const failure of failures) {
    const nodes = groups.get(failure.error) ?? [];
    nodes.push(failure.node);
    groups.set(failure.error, nodes);
  }
  const parts = [...groups].map(([error, nodes]) => `${nodes.length === 1 ? 'node' : 'nodes'} ${nodes.join(', ')}: ${error}`);
  const done = succeeded.length > 0 ? ` (succeeded on ${succeeded.join(', ')})` : '';
  return `${action} failed on ${parts.join('; ')}${done}`;
}

/**
 * Chooses the status for a failed operation: the nodes' own status when every failure carries
 * the same one, else `fallback`.
 */
export function failureStatus(failures: NodeFailure[], fallback: number): number {
  const statuses = new Set(failures.map((failure) => failure.status));
  const [only] = [...statuses];
  return statuses.size === 1 && only !== undefined ? only : fallback;
}

/**
 * Turns a fetch rejection into a message that describes what happened on the wire, e.g.
 * `other side closed (UND_ERR_SOCKET)` or `connect ECONNREFUSED 127.0.0.1:9`.
 */
export function describeRequestError(error: unknown, timeoutMs?: number): string {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return timeoutMs === undefined ? 'timed out' : `timed out after ${timeoutMs} ms`;
  const cause = err?.cause;
  if (cause?.message) {
    return cause.code && !cause.message.includes(cause.code) ? `${cause.message} (${cause.code})` : cause.message;
  }
  return err?.message ?? String(error);
}
