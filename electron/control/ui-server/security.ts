import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Content-Security-Policy for every response. Scripts come only from this origin. Inline
 * styles stay allowed because recharts positions its tooltip through style attributes.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The same policy for a `<meta>` tag, which ignores `frame-ancestors`. */
export const CONTENT_SECURITY_POLICY_META = CONTENT_SECURITY_POLICY.split('; ')
  .filter((directive) => !directive.startsWith('frame-ancestors'))
  .join('; ');

export function setSecurityHeaders(response: ServerResponse): void {
  response.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('X-Frame-Options', 'DENY');
  response.setHeader('Referrer-Policy', 'no-referrer');
  response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

/** Name of the cookie that lets the page load its own scripts after `?token=` was accepted. */
export const TOKEN_COOKIE = 'synaptic_token';

export type TokenSource = 'header' | 'query' | 'cookie';

/** Compares two secrets in constant time, whatever their lengths. */
export function secretsEqual(presented: string, expected: string): boolean {
  const presentedDigest = createHash('sha256').update(presented).digest();
  const expectedDigest = createHash('sha256').update(expected).digest();
  return timingSafeEqual(presentedDigest, expectedDigest);
}

/** Returns the token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (!header || !/^Bearer\s+/i.test(header)) return undefined;
  return header.replace(/^Bearer\s+/i, '').trim() || undefined;
}

/**
 * Reads the token a request carries, looking only at the sources that are allowed for it:
 * `Authorization: Bearer`, the `token` query parameter, or the page cookie.
 */
export function presentedToken(
  request: IncomingMessage,
  url: URL,
  sources: readonly TokenSource[],
): string | undefined {
  if (sources.includes('header')) {
    const fromHeader = bearerToken(request);
    if (fromHeader) return fromHeader;
  }
  if (sources.includes('query')) {
    const fromQuery = url.searchParams.get('token');
    if (fromQuery) return fromQuery;
  }
  if (sources.includes('cookie')) {
    const fromCookie = readCookie(request.headers.cookie, TOKEN_COOKIE);
    if (fromCookie) return fromCookie;
  }
  return undefined;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) {
      try {
        return decodeURIComponent(rest.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

/**
 * Rejects requests that a web page on another origin could make: a browser always sends
 * `Origin` on cross-origin fetches and WebSocket handshakes, so a present Origin must be ours.
 * On a loopback bind the Host header must also be a loopback name, which stops DNS rebinding.
 */
export function checkOrigin(request: IncomingMessage, loopbackOnly: boolean): string | null {
  const hostHeader = request.headers.host ?? '';
  if (loopbackOnly) {
    const hostname = hostHeader.replace(/:\d+$/, '');
    if (!isLoopbackHost(hostname)) return `host '${hostHeader}' is not a loopback address`;
  }
  const origin = request.headers.origin;
  if (origin === undefined || origin === 'null') return origin === 'null' ? 'origin null' : null;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return `invalid origin '${origin}'`;
  }
  return originHost === hostHeader ? null : `cross-origin request from '${origin}'`;
}
