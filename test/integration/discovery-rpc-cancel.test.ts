import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCheckFromLlamaServer } from '../../electron/control/discovery/rpc-check';
import { findLlamaBinaries } from '../../electron/control/llamacpp/binaries';

let llamaServer: string | undefined;
let silent: Server;
const sockets: Socket[] = [];
let endpoint = '';

beforeAll(async () => {
  llamaServer = (await findLlamaBinaries()).llamaServer?.path;
  // Accepts connections and never replies to the RPC hello, so a device check waits until stopped.
  silent = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  endpoint = `127.0.0.1:${(silent.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe('rpc device check', () => {
  it('stops when the scan is cancelled', async (context) => {
    if (!llamaServer) context.skip('llama-server is not built; run npm run llama:build');
    const check = rpcCheckFromLlamaServer(llamaServer!, 20_000);
    const controller = new AbortController();
    const started = Date.now();
    const pending = check(endpoint, controller.signal);
    setTimeout(() => controller.abort(), 300);
    const outcome = await pending;
    expect(outcome.verified).toBe(false);
    expect(outcome.detail).toContain('cancelled');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
