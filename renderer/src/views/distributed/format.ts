/** Host part of `host:port` or `[v6]:port`, without brackets. */
export function endpointHost(endpoint: string): string {
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(endpoint);
  if (bracketed) return bracketed[1];
  const index = endpoint.lastIndexOf(':');
  return index === -1 ? endpoint : endpoint.slice(0, index);
}

/** True for 127.0.0.0/8, `::1` and `localhost`: addresses no other machine can reach. */
export function isLoopback(host: string): boolean {
  const plain = host.replace(/^\[|\]$/g, '').toLowerCase();
  return plain === 'localhost' || plain === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

export function formatMiB(mib: number): string {
  return mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${Math.round(mib)} MiB`;
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/**
 * Parses an optional whole number from a form field. Returns undefined for an empty field and
 * an error message naming the value when it is not a whole number in [min, max].
 */
export function parseOptionalInt(label: string, text: string, min: number, max: number): { value?: number; error?: string } {
  const trimmed = text.trim();
  if (trimmed === '') return {};
  const value = Number(trimmed);
  if (!Number.isInteger(value) || value < min || value > max) {
    return { error: `${label} '${trimmed}' is invalid: expected a whole number from ${min} to ${max}` };
  }
  return { value };
}

/** Parses a tensor split such as `3,1` or `0.6 0.4`. Returns undefined for an empty field. */
export function parseTensorSplit(text: string): { value?: number[]; error?: string } {
  const trimmed = text.trim();
  if (trimmed === '') return {};
  const parts = trimmed.split(/[\s,]+/);
  const value = parts.map(Number);
  if (value.some((n) => !Number.isFinite(n) || n < 0)) {
    return { error: `tensor split '${trimmed}' is invalid: expected non-negative numbers separated by commas, for example 3,1` };
  }
  return { value };
}
