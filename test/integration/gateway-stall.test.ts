import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { Ollama } from 'ollama';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../electron/control/plane';
import { findFreePort } from '../../electron/control/llamacpp/net';
import { addNode, cleanupHarness, modelsDirWith, startPlane, tinyLlama } from './gateway-harness';

/** An Ollama-shaped node that streams two lines of every generate and then goes silent. */
class HangingNode {
  /** While true, health probes get 500, as from a node that hangs. */
  frozen = false;
  closedStreams = 0;
  private readonly server: Server;
  port = 0;

  constructor() {
    this.server = createServer((req, res) => {
      const path = req.url ?? '/';
      const entry = { name: 'hang:latest', model: 'hang:latest', size: 10, digest: 'h'.repeat(64), modified_at: '2026-01-01T00:00:00Z', details: { format: 'gguf' } };
      if (req.method !== 'POST') {
        if (this.frozen) return void res.writeHead(500).end();
        if (path === '/') return void res.writeHead(200).end(req.method === 'HEAD' ? undefined : 'Ollama is running');
        if (path === '/api/version') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"version":"0.6.0"}');
        if (path === '/api/tags') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ models: [entry] }));
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"models":[]}');
      }
      req.resume();
      res.on('close', () => (this.closedStreams += 1));
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"model":"hang","response":"a","done":false}\n');
      res.write('{"model":"hang","response":"b","done":false}\n');
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});
afterAll(() => cleanupHarness());

async function setup(tuning: { streamStallMs: number; downNodeStallMs: number }) {
  const node = await new HangingNode().listen();
  closers.push(() => node.close());
  const plane: ControlPlane = await startPlane({ gatewayTuning: { ...tuning, stallCheckEveryMs: 50 } });
  closers.push(() => plane.stop());
  const id = await addNode(plane, node.url, 'hanging');
  return { node, plane, id, client: new Ollama({ host: plane.gateway.url()! }) };
}

/** Streams a generate and returns the text received and the error the client threw. */
async function stream(client: Ollama): Promise<{ text: string; error?: string }> {
  let text = '';
  try {
    for await (const part of await client.generate({ model: 'hang', prompt: 'x', stream: true })) text += part.response;
  } catch (error) {
    return { text, error: (error as Error).message };
  }
  return { text };
}

describe('a node that stops sending mid-stream', () => {
  it('gets an error line after the stall limit', async () => {
    const { node, client } = await setup({ streamStallMs: 300, downNodeStallMs: 60_000 });
    const outcome = await stream(client);
    expect(outcome.text).toBe('ab');
    expect(outcome.error).toContain('node sent nothing for');
    // The gateway drops its request to the node, so the node's stream closes too.
    for (let i = 0; i < 40 && node.closedStreams === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(node.closedStreams).toBe(1);
  });

  it('is cut sooner once health checks report it down', async () => {
    const { node, plane, id, client } = await setup({ streamStallMs: 60_000, downNodeStallMs: 200 });
    const pending = stream(client);
    await new Promise((resolve) => setTimeout(resolve, 100));
    node.frozen = true;
    await plane.nodes.check(id);
    expect(plane.nodes.get(id)?.health).toBe('down');
    const outcome = await pending;
    expect(outcome.error).toContain('stopped answering health checks');
  });

  it('ends a frozen embedded node stream', async () => {
    // A real embedded node in its own process, stopped with SIGSTOP in the middle of a stream.
    const port = await findFreePort();
    const args = ['--import', 'tsx', 'electron/cli/node.ts', '--port', String(port), '--models', await modelsDirWith(tinyLlama)];
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    closers.push(async () => {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    });
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 240; i++) {
      if (await fetch(`${url}/api/version`).then((r) => r.ok, () => false)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const plane: ControlPlane = await startPlane({
      gatewayTuning: { streamStallMs: 60_000, downNodeStallMs: 500, stallCheckEveryMs: 100 },
      health: { intervalMs: 300, probeTimeoutMs: 300, slowMs: 300, maxBackoffMs: 300 },
    });
    closers.push(() => plane.stop());
    await addNode(plane, url, 'frozen');
    const client = new Ollama({ host: plane.gateway.url()! });

    let text = '';
    let stopped = false;
    let error = '';
    try {
      for await (const part of await client.generate({ model: tinyLlama, prompt: 'Once', stream: true, options: { num_predict: 100_000 } })) {
        text += part.response;
        if (!stopped && text.length > 20) stopped = child.kill('SIGSTOP');
      }
    } catch (caught) {
      error = (caught as Error).message;
    }
    expect(stopped).toBe(true);
    expect(error).toContain('stopped answering health checks');
  });
});
