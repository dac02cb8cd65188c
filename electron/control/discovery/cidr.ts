import { MAX_SCAN_ADDRESSES } from '../../../shared/api/discovery';

/** An IPv4 range as unsigned 32-bit numbers, both ends included. */
export type Ipv4Range = { cidr: string; prefix: number; first: number; last: number; size: number };

export type CidrParse = { ok: true; range: Ipv4Range } | { ok: false; message: string };

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Parses dotted-quad IPv4 into an unsigned 32-bit number; null when invalid. */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/**
 * Parses `a.b.c.d/n` (or a bare address, read as /32) into the range of hosts to probe. Host bits
 * set in the address are cleared. For prefixes up to /30 the network and broadcast addresses are
 * left out, because they are not host addresses.
 */
export function parseCidr(input: string): CidrParse {
  const text = input.trim();
  const [addressText, prefixText, extra] = text.split('/');
  if (extra !== undefined) {
    return { ok: false, message: `invalid CIDR '${input}': expected a.b.c.d/n, e.g. 192.168.1.0/24` };
  }
  const address = parseIpv4(addressText);
  if (address === null) {
    return {
      ok: false,
      message: `invalid CIDR '${input}': '${addressText}' is not an IPv4 address (IPv6 is not scanned)`,
    };
  }
  const prefix = prefixText === undefined ? 32 : /^[0-9]{1,2}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!Number.isInteger(prefix) || prefix > 32) {
    return { ok: false, message: `invalid CIDR '${input}': prefix '/${prefixText}' must be 0-32` };
  }

  const blockSize = 2 ** (32 - prefix);
  const network = Math.floor(address / blockSize) * blockSize;
  const hostCount = prefix <= 30 ? blockSize - 2 : blockSize;
  if (hostCount > MAX_SCAN_ADDRESSES) {
    const parts = Math.ceil(blockSize / MAX_SCAN_ADDRESSES);
    return {
      ok: false,
      message:
        `range ${formatIpv4(network)}/${prefix} has ${blockSize} addresses, more than the ` +
        `${MAX_SCAN_ADDRESSES} one scan probes; scan it as ${parts} ranges of /22 or smaller, ` +
        `e.g. ${formatIpv4(network)}/22`,
    };
  }

  const first = prefix <= 30 ? network + 1 : network;
  const last = prefix <= 30 ? network + blockSize - 2 : network + blockSize - 1;
  return {
    ok: true,
    range: { cidr: `${formatIpv4(network)}/${prefix}`, prefix, first, last, size: last - first + 1 },
  };
}

export function* rangeAddresses(range: Ipv4Range): Generator<string> {
  for (let value = range.first; value <= range.last; value++) yield formatIpv4(value);
}

export function rangeContains(range: Ipv4Range, host: string): boolean {
  const value = parseIpv4(host);
  return value !== null && value >= range.first && value <= range.last;
}

/** True for 127.0.0.0/8, the addresses of this machine's loopback interface. */
export function isLoopback(host: string): boolean {
  const value = parseIpv4(host);
  if (value !== null) return value >>> 24 === 127;
  return host === 'localhost' || host === '::1' || host === '[::1]';
}
