import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type RequestListener } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';

/** Loopback services for discovery tests. Every one binds a 127.x address and closes in `close`. */
export type TestHost = { host: string; port: number; close(): Promise<void> };

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
}

function track(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

async function httpHost(host: string, port: number, handler: RequestListener): Promise<TestHost> {
  const server = createHttpServer(handler);
  const sockets = track(server);
  const bound = await listen(server, host, port);
  return { host, port: bound, close: closer(server, sockets) };
}

function sendJson(response: Parameters<RequestListener>[1], status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** Starts an HTTP server that serves `/`, `/api/version`, `/api/tags` and `/api/ps` in Ollama's shape. */
export function startOllamaShaped(host: string, port: number, models: string[] = []): Promise<TestHost> {
  return httpHost(host, port, (request, response) => {
    if (request.url === '/') {
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return response.end(request.method === 'HEAD' ? undefined : 'Ollama is running');
    }
    if (request.url === '/api/ps') return sendJson(response, 200, { models: [] });
    if (request.url === '/api/version') return sendJson(response, 200, { version: '0.12.3' });
    if (request.url === '/api/tags') {
      const entries = models.map((name) => ({
        name,
        model: name,
        modified_at: '2026-01-01T00:00:00Z',
        size: 1000,
        digest: 'sha256:00',
        details: { format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '1M', quantization_level: 'F16' },
      }));
      return sendJson(response, 200, { models: entries });
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('404 page not found');
  });
}

/** Starts an ordinary web server that returns 200 HTML on every path. */
export function startPlainHttp(host: string, port: number): Promise<TestHost> {
  return httpHost(host, port, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<html><body>It works</body></html>');
  });
}

/** Starts a server with Ollama's `/api/version` but JSON of another shape on `/api/tags`. */
export function startHalfOllama(host: string, port: number): Promise<TestHost> {
  return httpHost(host, port, (request, response) => {
    if (request.url === '/api/version') return sendJson(response, 200, { version: '1.0.0' });
    return sendJson(response, 200, { models: null });
  });
}

/** Accepts TCP connections and never writes a byte. */
export async function startSilentTcp(host: string, port: number): Promise<TestHost> {
  const server = createTcpServer(() => undefined);
  const sockets = track(server);
  const bound = await listen(server, host, port);
  return { host, port: bound, close: closer(server, sockets) };
}

/**
 * Listening sockets whose accept queue is full, so a new connection gets no SYN-ACK and the
 * connect attempt times out, as it does for a host that drops packets. Needs python3.
 */
export function startBlackholes(port: number, hosts: string[]): Promise<{ close(): Promise<void> }> {
  const script = [
    'import socket, sys',
    'port = int(sys.argv[1]); keep = []',
    'for host in sys.argv[2:]:',
    '    s = socket.socket(); s.bind((host, port)); s.listen(0); keep.append(s)',
    '    for _ in range(2):',
    '        c = socket.socket(); c.setblocking(False)',
    '        try: c.connect((host, port))',
    '        except BlockingIOError: pass',
    '        keep.append(c)',
    'print("ready", flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const child: ChildProcess = spawn('python3', ['-c', script, String(port), ...hosts], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`blackhole helper exited with ${code}: ${stderr}`)));
    child.stdout?.once('data', () => {
      child.removeAllListeners('exit');
      resolve({
        close: () =>
          new Promise((done) => {
            child.once('exit', () => done());
            child.stdin?.end();
          }),
      });
    });
  });
}
