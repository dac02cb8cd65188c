import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { z } from 'zod';
import { ErrorCodes, fail } from '../../../shared/result';
import type { ApiRegistry } from '../core/api-registry';
import type { EventBus } from '../core/event-bus';
import type { Logger } from '../core/logger';
import { EventsSocket } from './events-socket';
import { handleRpc, sendEnvelope } from './rpc';
import {
  checkOrigin,
  isLoopbackHost,
  presentedToken,
  secretsEqual,
  setSecurityHeaders,
  TOKEN_COOKIE,
  type TokenSource,
} from './security';
import { lookupStatic, sendFile } from './static-files';

export type UiServerOptions = {
  api: ApiRegistry;
  bus: EventBus;
  /** Interface to bind, 127.0.0.1 by default. Any address other than loopback requires `token`. */
  host?: string;
  /** TCP port, where 0 picks a free one. */
  port: number;
  token?: string;
  /** Folder with the renderer build (`out/renderer`). */
  staticDir: string;
  log: Logger;
};

export type UiServer = { url: string; port: number; close(): Promise<void> };

const optionsSchema = z.object({
  host: z.string().min(1, 'host must not be empty').default('127.0.0.1'),
  port: z.number().int().min(0).max(65535),
  token: z.string().min(16, 'token must be at least 16 characters').optional(),
  staticDir: z.string().min(1, 'staticDir is required'),
});

const RPC_PREFIX = '/rpc/';
const EVENTS_PATH = '/events';

/**
 * Starts the HTTP server of serve mode: the renderer build, `POST /rpc/<channel>` and the
 * `/events` WebSocket. With a token set, every request must present it.
 */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const parsed = optionsSchema.safeParse({
    host: options.host,
    port: options.port,
    token: options.token,
    staticDir: options.staticDir,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid UI server options: ${problems.join('; ')}`);
  }
  const { host, port, token, staticDir } = parsed.data;
  const loopbackOnly = isLoopbackHost(host);
  if (!loopbackOnly && !token) {
    throw new Error(`UI server host '${host}' is not a loopback address; set a token to expose it`);
  }

  // A caller may already pass a child logger for this component, and pino would repeat the key.
  const log = options.log.bindings().component ? options.log : options.log.child({ component: 'ui-server' });
  const events = new EventsSocket(options.bus, log);

  const isAuthorized = (request: IncomingMessage, url: URL, sources: readonly TokenSource[]) => {
    if (!token) return true;
    const presented = presentedToken(request, url, sources);
    return presented !== undefined && secretsEqual(presented, token);
  };

  // The page cookie also authorizes API calls and the event socket, but only from our own page.
  // Browsers always send Origin on POST fetches and WebSocket handshakes, and checkOrigin has
  // already rejected any Origin but ours, so a cross-site form or script cannot ride on it.
  const apiTokenSources = (request: IncomingMessage): TokenSource[] =>
    request.headers.origin ? ['header', 'query', 'cookie'] : ['header', 'query'];

  const handleRequest = async (request: IncomingMessage, response: ServerResponse) => {
    setSecurityHeaders(response);
    const url = parseRequestUrl(request);
    if (!url) {
      sendText(response, 400, 'invalid request URL');
      return;
    }
    const isRpc = url.pathname.startsWith(RPC_PREFIX);

    const originProblem = checkOrigin(request, loopbackOnly);
    if (originProblem) {
      log.warn({ path: url.pathname, problem: originProblem }, 'Rejected request');
      if (isRpc) sendEnvelope(response, 403, fail(ErrorCodes.unauthorized, `request rejected: ${originProblem}`));
      else sendText(response, 403, `request rejected: ${originProblem}`);
      return;
    }

    if (isRpc) {
      if (!isAuthorized(request, url, apiTokenSources(request))) {
        log.debug({ path: url.pathname }, 'Rejected RPC call without a valid token');
        response.setHeader('WWW-Authenticate', 'Bearer');
        sendEnvelope(response, 401, fail(ErrorCodes.unauthorized, 'missing or invalid token'));
        return;
      }
      await handleRpc(options.api, url.pathname.slice(RPC_PREFIX.length), request, response);
      return;
    }

    if (!isAuthorized(request, url, ['header', 'query', 'cookie'])) {
      log.debug({ path: url.pathname }, 'Rejected page request without a valid token');
      response.setHeader('WWW-Authenticate', 'Bearer');
      sendText(response, 401, 'missing or invalid token; open the URL that the server printed, including ?token=');
      return;
    }
    if (url.pathname === EVENTS_PATH) {
      sendText(response, 426, 'use a WebSocket to connect to /events');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      sendText(response, 405, `method ${request.method} is not allowed here`);
      return;
    }
    await serveStatic(request, response, url);
  };

  const serveStatic = async (request: IncomingMessage, response: ServerResponse, url: URL) => {
    const found = await lookupStatic(staticDir, url.pathname);
    if (found.kind === 'bad_path') {
      sendText(response, 400, found.message);
      return;
    }
    if (found.kind === 'not_found') {
      const isPage = url.pathname === '/' || !/\.[a-z0-9]+$/i.test(url.pathname);
      if (isPage) {
        sendText(response, 503, `the UI build is missing from ${staticDir}; run "npm run build" first`);
      } else {
        sendText(response, 404, `${url.pathname} not found`);
      }
      return;
    }
    // A page opened with a valid ?token= keeps it in a cookie so its own scripts and styles load.
    if (token && url.searchParams.has('token') && found.path.endsWith('.html')) {
      response.setHeader(
        'Set-Cookie',
        `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`,
      );
    }
    sendFile(response, found, request.method === 'HEAD');
  };

  const server = createServer((request, response) => {
    handleRequest(request, response).catch((error: unknown) => {
      log.error({ err: error, path: safePath(request) }, 'UI request failed');
      if (!response.headersSent) sendText(response, 500, 'internal error');
      else response.destroy();
    });
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 120_000;

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = parseRequestUrl(request);
    if (!url || url.pathname !== EVENTS_PATH) {
      rejectUpgrade(socket, 404, 'Not Found');
      return;
    }
    const originProblem = checkOrigin(request, loopbackOnly);
    if (originProblem) {
      log.warn({ problem: originProblem }, 'Rejected event socket');
      rejectUpgrade(socket, 403, 'Forbidden');
      return;
    }
    if (!isAuthorized(request, url, apiTokenSources(request))) {
      log.debug('Rejected event socket without a valid token');
      rejectUpgrade(socket, 401, 'Unauthorized');
      return;
    }
    events.upgrade(request, socket, head);
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  await new Promise<void>((resolvePromise, rejectPromise) => {
    server.once('error', rejectPromise);
    server.listen(port, host, () => {
      server.off('error', rejectPromise);
      resolvePromise();
    });
  });

  const boundPort = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const baseUrl = `http://${urlHost}:${boundPort}/`;
  log.info({ url: baseUrl, tokenRequired: Boolean(token), staticDir }, 'UI server listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await events.close();
      await new Promise<void>((resolvePromise) => {
        server.close(() => resolvePromise());
        server.closeAllConnections();
      });
      log.info({ url: baseUrl }, 'UI server stopped');
    })();
    return closing;
  };

  return { url: baseUrl, port: boundPort, close };
}

function parseRequestUrl(request: IncomingMessage): URL | null {
  try {
    return new URL(request.url ?? '/', 'http://ui.invalid');
  } catch {
    return null;
  }
}

/** Returns the request path without its query string, which may contain the token. */
function safePath(request: IncomingMessage): string {
  return (request.url ?? '').split('?')[0];
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.statusCode = status;
  response.setHeader('Content-Type', 'text/plain; charset=utf-8');
  response.setHeader('Cache-Control', 'no-store');
  response.end(text);
}

function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
