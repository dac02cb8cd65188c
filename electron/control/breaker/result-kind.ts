/**
 * Classification of a finished request by what it shows about the node that served it:
 *
 *   ok             the request succeeded
 *   cancelled      the client went away, so nothing is known
 *   client_error   the request itself was wrong (400, 404, 405, 413, 422), so the node is fine
 *   model_failure  the node is up but could not load this one model (a corrupt file, too little
 *                  memory), which is evidence about the (node, model) pair, not the node
 *   other_failure  any other failure with a status: a 401, 403, 408 or 409, or an error line after
 *                  a 200 stream began. The node answered, so the breaker ignores it, but the
 *                  failure may come from the node's state or settings, so learning records it
 *   node_failure   no response, a 5xx or a 429, which counts against the node
 */
export type ResultKind = 'ok' | 'cancelled' | 'client_error' | 'model_failure' | 'other_failure' | 'node_failure';

/** The parts of a finished request that decide its kind. */
export type ClassifiableResult = {
  ok: boolean;
  /** HTTP status from the node, when one arrived. */
  status?: number;
  /** Error message, e.g. `node returned 500: failed to load model ...`. */
  error?: string;
  cancelled?: boolean;
};

/** 4xx statuses caused by the request. 408 and 429 are left out because they report the node's state. */
export const clientErrorStatuses: ReadonlySet<number> = new Set([400, 404, 405, 413, 422]);

/**
 * Messages of a failed model load, matched at any status a node sent. Ollama returns 500 with
 * `llama runner process has terminated`, `unable to load model`, `error loading model` or
 * `model requires more system memory`, and the embedded node returns 500 with
 * `failed to load model '<name>': <reason>`.
 */
const modelLoadFailure = /llama runner process has terminated|unable to load model|error loading model|model requires more system memory|failed to load model/i;

/** Sorts a finished request into one of the kinds above; pure. */
export function classifyResult(result: ClassifiableResult): ResultKind {
  if (result.cancelled) return 'cancelled';
  if (result.ok) return 'ok';
  const status = result.status;
  if (status !== undefined && clientErrorStatuses.has(status)) return 'client_error';
  if (status !== undefined && result.error !== undefined && modelLoadFailure.test(result.error)) return 'model_failure';
  if (status === undefined || status >= 500 || status === 429) return 'node_failure';
  return 'other_failure';
}

/** True for kinds the learning store records as a failure of the (node, model) pair. */
export function countsAgainstModel(kind: ResultKind): boolean {
  return kind === 'model_failure' || kind === 'other_failure' || kind === 'node_failure';
}
