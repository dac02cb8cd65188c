import { connect } from 'node:net';

export type TcpProbeOutcome =
  | { kind: 'open'; latencyMs: number }
  | { kind: 'refused' }
  | { kind: 'timeout' }
  | { kind: 'aborted' }
  | { kind: 'error'; code: string };

export type TcpProbe = (host: string, port: number, timeoutMs: number, signal?: AbortSignal) => Promise<TcpProbeOutcome>;

/**
 * Opens a TCP connection and closes it at once. Resolves, never rejects: a refused port, a
 * timeout and an abort are outcomes.
 */
export const probeTcp: TcpProbe = (host, port, timeoutMs, signal) => {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve({ kind: 'aborted' });
      return;
    }
    const started = performance.now();
    const socket = connect({ host, port });
    let settled = false;

    const finish = (outcome: TcpProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(outcome);
    };
    const onAbort = () => finish({ kind: 'aborted' });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);

    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ kind: 'open', latencyMs: performance.now() - started }));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') finish({ kind: 'refused' });
      else finish({ kind: 'error', code: error.code ?? error.message });
    });
  });
};
