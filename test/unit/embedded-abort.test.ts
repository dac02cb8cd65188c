import { createServer, request, type ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { abortOnClose } from '../../electron/control/embedded/context';

/** Serves one request, calling `handle` with its response after `delayMs`; the client leaves after `leaveAfterMs`. */
async function withLeavingClient(delayMs: number, leaveAfterMs: number, handle: (res: ServerResponse) => void): Promise<void> {
  await new Promise<void>((resolve) => {
    const server = createServer((req, res) => {
      req.resume();
      setTimeout(() => {
        handle(res);
        server.close();
        resolve();
      }, delayMs);
    });
    server.listen(0, '127.0.0.1', () => {
      const client = request({ port: (server.address() as { port: number }).port, method: 'POST', path: '/api/chat' });
      client.on('error', () => undefined);
      client.end('{}');
      setTimeout(() => client.destroy(), leaveAfterMs);
    });
  });
}

describe('abortOnClose', () => {
  it('aborts at once for a client already gone', async () => {
    let aborted = false;
    await withLeavingClient(200, 20, (res) => {
      aborted = abortOnClose(res).signal.aborted;
    });
    expect(aborted).toBe(true);
  });

  it('waits for a client still connected', async () => {
    let aborted = true;
    await withLeavingClient(20, 500, (res) => {
      aborted = abortOnClose(res).signal.aborted;
      res.end();
    });
    expect(aborted).toBe(false);
  });
});
