import { createConnection, createServer } from 'node:net';

/** Binds 127.0.0.1 port 0, reads the port the kernel picked, and releases it. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port found'))));
    });
  });
}

export type TcpProbe = { ok: true; ms: number } | { ok: false; reason: string };

/** Opens a TCP connection and closes it at once; reports why it failed when it does. */
export function probeTcp(host: string, port: number, timeoutMs = 2000): Promise<TcpProbe> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = createConnection({ host: host.replace(/^\[|\]$/g, ''), port });
    const finish = (result: TcpProbe) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => finish({ ok: false, reason: `connect to ${host}:${port} timed out after ${timeoutMs} ms` }));
    socket.once('connect', () => finish({ ok: true, ms: Date.now() - started }));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      finish({ ok: false, reason: `connect to ${host}:${port} failed: ${err.code ?? err.message}` }),
    );
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
