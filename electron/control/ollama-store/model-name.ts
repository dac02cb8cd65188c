/**
 * Ollama model names: `[host/][namespace/]model[:tag]`, compared the way Ollama compares them
 * (case-insensitive, with host `registry.ollama.ai`, namespace `library` and tag `latest` filled
 * in when missing).
 */

export const DEFAULT_HOST = 'registry.ollama.ai';
export const DEFAULT_NAMESPACE = 'library';
export const DEFAULT_TAG = 'latest';

export type ModelName = {
  host: string;
  namespace: string;
  model: string;
  tag: string;
};

// One path part: starts with a letter, digit or underscore, so `.` and `..` never match.
const PART = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$/;
const HOST = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Parses an Ollama model name, filling in the default host, namespace and tag. A trailing
 * `@sha256:...` digest is ignored. Returns null when the name is empty or a part contains
 * characters Ollama does not allow, so the result is always safe to use as a path component.
 */
export function parseModelName(name: string): ModelName | null {
  let rest = name.trim();
  const at = rest.indexOf('@');
  if (at >= 0) rest = rest.slice(0, at);
  if (rest === '') return null;

  let tag = DEFAULT_TAG;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }

  const parts = rest.split('/');
  if (parts.length > 3) return null;
  const model = parts[parts.length - 1];
  const namespace = parts.length >= 2 ? parts[parts.length - 2] : DEFAULT_NAMESPACE;
  const host = parts.length === 3 ? parts[0] : DEFAULT_HOST;

  if (!PART.test(model) || !PART.test(namespace) || !HOST.test(host) || !TAG.test(tag)) {
    return null;
  }
  return { host, namespace, model, tag };
}

/**
 * Canonical names computed so far. The router compares the requested name with every model of
 * every node on each request, so the same few names come back often. Clients choose the names,
 * so the memo is emptied when full instead of growing.
 */
const canonicalMemo = new Map<string, string | null>();
const CANONICAL_MEMO_SIZE = 4096;

/** Returns the lower-cased full form `host/namespace/model:tag`, or null for an invalid name. */
export function canonicalModelName(name: string): string | null {
  const known = canonicalMemo.get(name);
  if (known !== undefined) return known;
  const parsed = parseModelName(name);
  const canonical = parsed ? `${parsed.host}/${parsed.namespace}/${parsed.model}:${parsed.tag}`.toLowerCase() : null;
  if (canonicalMemo.size >= CANONICAL_MEMO_SIZE) canonicalMemo.clear();
  canonicalMemo.set(name, canonical);
  return canonical;
}

/** Tells whether two names denote the same Ollama model; invalid names match nothing. */
export function sameModel(a: string, b: string): boolean {
  const left = canonicalModelName(a);
  return left !== null && left === canonicalModelName(b);
}

/**
 * Formats a name the way `ollama list` shows it: `model:tag` for the default host and namespace,
 * `namespace/model:tag` for the default host, and `host/namespace/model:tag` otherwise.
 */
export function displayModelName(name: ModelName): string {
  const base = `${name.model}:${name.tag}`;
  if (name.host.toLowerCase() !== DEFAULT_HOST) return `${name.host}/${name.namespace}/${base}`;
  if (name.namespace.toLowerCase() !== DEFAULT_NAMESPACE) return `${name.namespace}/${base}`;
  return base;
}
