import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Connection-level headers that a proxy must not forward (RFC 9110, section 7.6.1). */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Copies headers without hop-by-hop ones, without those the `Connection` header names, and
 * without the names in `drop` (lower case).
 */
export function forwardableHeaders(
  headers: IncomingHttpHeaders,
  drop: readonly string[] = [],
): OutgoingHttpHeaders {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (hopByHop.has(name) || named.includes(name) || drop.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Header listing the gateways a request passed through. A gateway that finds its own id there
 * returns 508, so two gateways that list each other as nodes cannot bounce a request forever.
 */
export const viaHeader = 'x-synaptic-via';

/** Reads the gateways a request passed through and whether `instanceId` is among them. */
export function readVia(headers: IncomingHttpHeaders, instanceId: string): { via: string; loop: boolean } {
  const via = String(headers[viaHeader] ?? '');
  return { via, loop: via.split(',').some((id) => id.trim() === instanceId) };
}

/** Returns the `x-synaptic-via` value to send on, with `instanceId` appended. */
export function appendVia(via: string, instanceId: string): string {
  return via ? `${via}, ${instanceId}` : instanceId;
}

/** Returns the 508 message for a request that came back to the gateway `instanceId`. */
export function loopMessage(instanceId: string): string {
  return `request loop: this gateway (${instanceId}) is listed as a node of a gateway it routes to`;
}
