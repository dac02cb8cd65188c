import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Origins a browser page may call the gateway from without any setting: pages on this machine on
 * any port, and desktop shells, as in Ollama's `envconfig` defaults.
 * NOTE: the two vscode schemes follow newer Ollama releases and were not checked in their source.
 */
export const defaultOrigins = [
  'http://localhost',
  'https://localhost',
  'http://localhost:*',
  'https://localhost:*',
  'http://127.0.0.1',
  'https://127.0.0.1',
  'http://127.0.0.1:*',
  'https://127.0.0.1:*',
  'http://0.0.0.0',
  'https://0.0.0.0',
  'http://0.0.0.0:*',
  'https://0.0.0.0:*',
  'app://*',
  'file://*',
  'tauri://*',
  'vscode-webview://*',
  'vscode-file://*',
];

/** Request headers a cross-origin page may send: Ollama's and OpenAI clients' usual ones, and ours. */
const allowedHeaders = [
  'Authorization',
  'Content-Type',
  'User-Agent',
  'Accept',
  'X-Requested-With',
  'X-Stainless-Lang',
  'X-Stainless-Package-Version',
  'X-Stainless-Os',
  'X-Stainless-Arch',
  'X-Stainless-Retry-Count',
  'X-Stainless-Runtime',
  'X-Stainless-Runtime-Version',
  'X-Stainless-Async',
  'X-Stainless-Helper-Method',
  'X-Stainless-Poll-Helper',
  'X-Stainless-Custom-Poll-Interval',
  'X-Stainless-Timeout',
  'X-Stainless-Raw-Response',
  'X-Synaptic-Priority',
  'X-Synaptic-Hedge',
  'X-Synaptic-Node',
].join(', ');

const allowedMethods = 'GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS';

/** How long a browser may cache a preflight response, in seconds (12 hours). */
const preflightMaxAgeSeconds = 43_200;

/**
 * Reads `OLLAMA_ORIGINS`: a comma-separated list of extra origins, where `*` matches any run of
 * characters and a lone `*` allows every origin. Quotes and blanks around entries are ignored.
 */
export function originsFromEnv(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((entry) => entry.trim().replace(/^["']|["']$/g, '').trim())
    .filter(Boolean);
}

/** Decides which browser origins may call the gateway. */
export class OriginPolicy {
  private readonly exact = new Set<string>();
  private readonly patterns: RegExp[] = [];
  private readonly anyOrigin: boolean;

  constructor(extraOrigins: readonly string[] = []) {
    const all = [...defaultOrigins, ...extraOrigins];
    this.anyOrigin = all.includes('*');
    for (const origin of all) {
      const lower = origin.toLowerCase();
      if (!lower.includes('*')) this.exact.add(lower);
      else this.patterns.push(new RegExp(`^${lower.split('*').map(escapeRegExp).join('.*')}$`));
    }
  }

  allows(origin: string): boolean {
    if (this.anyOrigin) return true;
    const lower = origin.toLowerCase();
    return this.exact.has(lower) || this.patterns.some((pattern) => pattern.test(lower));
  }

  /**
   * Applies the policy to one request. A request without `Origin`, or from the gateway's own
   * origin, passes untouched. An allowed origin gets the CORS headers, and a preflight ends here
   * with 204. Any other origin gets 403 with an empty body, as from Ollama. Returns true when
   * the request is complete and must not be handled further.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (origin === undefined || isSameOrigin(origin, req.headers.host)) return false;
    if (!this.allows(origin)) {
      req.resume();
      res.writeHead(403, { 'Content-Length': 0 });
      res.end();
      return true;
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      req.resume();
      res.writeHead(204, {
        'Access-Control-Allow-Methods': allowedMethods,
        'Access-Control-Allow-Headers': allowedHeaders,
        'Access-Control-Max-Age': String(preflightMaxAgeSeconds),
      });
      res.end();
      return true;
    }
    return false;
  }
}

function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  const lower = origin.toLowerCase();
  const hostLower = host.toLowerCase();
  return lower === `http://${hostLower}` || lower === `https://${hostLower}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
