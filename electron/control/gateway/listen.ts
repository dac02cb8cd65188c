import type { Server } from 'node:http';
import type { GatewayStatus } from '../../../shared/types';
import type { Logger } from '../core/logger';

/** Listens on `port`, or on `fallbackPort` when `port` is taken. The returned status names the port used. */
export async function listenWithFallback(
  server: Server,
  host: string,
  port: number,
  fallbackPort: number | undefined,
  log: Logger,
): Promise<GatewayStatus> {
  try {
    const bound = await listenOnce(server, host, port);
    return { host, port: bound, listening: true, fallbackUsed: false, message: `listening on ${host}:${bound}` };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' || fallbackPort === undefined || fallbackPort === port) {
      const message = `cannot listen on ${host}:${port}: ${code ?? (error as Error).message}`;
      log.error({ host, port, code }, message);
      return { host, port: null, listening: false, fallbackUsed: false, message };
    }
    log.warn({ host, port, fallbackPort }, `Port ${port} is in use; trying fallback port ${fallbackPort}`);
  }
  try {
    const bound = await listenOnce(server, host, fallbackPort);
    const message = `port ${port} was in use, so listening on fallback ${host}:${bound}`;
    log.info({ host, port: bound }, message);
    return { host, port: bound, listening: true, fallbackUsed: true, message };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = `cannot listen on ${host}:${port} (in use) nor on fallback port ${fallbackPort}: ${code ?? (error as Error).message}`;
    log.error({ host, port, fallbackPort, code }, message);
    return { host, port: null, listening: false, fallbackUsed: true, message };
  }
}

function listenOnce(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
