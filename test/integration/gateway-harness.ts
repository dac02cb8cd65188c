import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSilentLogger } from '../../electron/control/core/logger';
import { startEmbeddedNode } from '../../electron/control/embedded';
import { ControlPlane, type ControlPlaneConfig } from '../../electron/control/plane';

/** Test models beside the checkout; used in place, never copied. */
export const modelsRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'models');
export const tinyLlama = 'tiny-llama-8L';
export const tinyRandom = 'llama-2-tiny-random';

const cleanups: Array<() => Promise<void>> = [];

/** Removes every temp folder made by this harness. */
export async function cleanupHarness(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
}

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A temp models folder holding symlinks to the named test models. */
export async function modelsDirWith(...models: string[]): Promise<string> {
  const dir = await tempDir('synaptic-models-');
  for (const model of models) await symlink(join(modelsRoot, `${model}.gguf`), join(dir, `${model}.gguf`));
  return dir;
}

export type TestNode = { url: string; port: number; modelsDir: string; close(): Promise<void> };

/** Starts a real embedded node (node-llama-cpp) on a free loopback port serving `models`. */
export async function startNode(models: string[], port = 0, modelsDir?: string): Promise<TestNode> {
  const dir = modelsDir ?? (await modelsDirWith(...models));
  const node = await startEmbeddedNode({ host: '127.0.0.1', port, modelsDir: dir, ollamaStoreDirs: false, log: createSilentLogger(), threads: 1 });
  return { url: node.url, port: node.port, modelsDir: dir, close: () => node.close() };
}

/** A control plane on a free loopback port with no discovery and no embedded node of its own. */
export async function startPlane(config: Partial<ControlPlaneConfig> = {}): Promise<ControlPlane> {
  const plane = new ControlPlane({
    dataDir: await tempDir('synaptic-data-'),
    host: '127.0.0.1',
    port: 0,
    discoverLocal: false,
    embedded: false,
    log: createSilentLogger(),
    health: { intervalMs: 1_000, probeTimeoutMs: 5_000, slowMs: 5_000, maxBackoffMs: 2_000 },
    ...config,
  });
  await plane.start();
  return plane;
}

/** Adds a node and waits until its health check has listed its models. */
export async function addNode(plane: ControlPlane, url: string, name: string): Promise<string> {
  const added = await plane.nodes.add({ url, name });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const node = plane.nodes.get(added.id)!;
    if (node.health === 'up' && node.models.length > 0) return added.id;
    if (Date.now() > deadline) throw new Error(`node ${name} at ${url} is ${node.health}: ${node.lastError}`);
    await plane.nodes.check(added.id);
  }
}

/** Finds the node id behind a URL in a plane's fleet. */
export function nodeIdOf(plane: ControlPlane, url: string): string {
  const node = plane.nodes.findByUrl(url);
  if (!node) throw new Error(`node ${url} is not in the fleet`);
  return node.id;
}

export type RelayConnection = {
  openedAt: number;
  closedAt?: number;
  closedBy?: 'client' | 'target' | 'cut';
  /** Request line of the latest request on this connection, e.g. `POST /api/chat HTTP/1.1`. */
  lastRequest?: string;
  lastRequestAt?: number;
};

/**
 * A TCP relay in front of a real node. It records when each connection from the gateway closes,
 * and with `cutAfterLines` set it drops the connection after that many NDJSON lines, as a node
 * that dies mid-stream does.
 */
export class Relay {
  readonly connections: RelayConnection[] = [];
  cutAfterLines: number | null = null;
  private readonly server = createTcpServer((socket) => this.accept(socket));
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly targetPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The latest connection that carried a request starting with `requestPrefix` since `since`. */
  connectionFor(requestPrefix: string, since: number): RelayConnection | undefined {
    return this.connections
      .filter((c) => c.lastRequest?.startsWith(requestPrefix) && (c.lastRequestAt ?? 0) >= since)
      .at(-1);
  }

  private accept(client: Socket): void {
    const record: RelayConnection = { openedAt: Date.now() };
    this.connections.push(record);
    const target = connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(target);
    let lines = 0;
    client.on('data', (chunk: Buffer) => {
      const head = chunk.subarray(0, 200).toString('latin1');
      if (/^(GET|HEAD|POST|PUT|DELETE) \//.test(head)) {
        record.lastRequest = head.split('\r\n')[0];
        record.lastRequestAt = Date.now();
      }
      target.write(chunk);
    });
    target.on('data', (chunk: Buffer) => {
      if (this.cutAfterLines === null) {
        client.write(chunk);
        return;
      }
      let end = 0;
      let index = chunk.indexOf('}\n');
      while (index !== -1) {
        lines += 1;
        end = index + 2;
        if (lines >= this.cutAfterLines) {
          client.write(chunk.subarray(0, end));
          record.closedBy = 'cut';
          record.closedAt = Date.now();
          client.destroy();
          target.destroy();
          return;
        }
        index = chunk.indexOf('}\n', end);
      }
      client.write(chunk);
    });
    client.on('close', () => {
      record.closedAt ??= Date.now();
      record.closedBy ??= 'client';
      target.destroy();
      this.sockets.delete(client);
    });
    target.on('close', () => {
      record.closedAt ??= Date.now();
      record.closedBy ??= 'target';
      client.destroy();
      this.sockets.delete(target);
    });
    client.on('error', () => undefined);
    target.on('error', () => undefined);
  }
}

export type FaultHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/**
 * An Ollama-shaped HTTP server for faults a real node cannot be made to show on demand: a full
 * queue (503), a request that never gets an answer, a huge body. It lists `model` as present and
 * loaded, so the router prefers it over a real node that has not loaded the model yet.
 */
export class FaultNode {
  handler: FaultHandler = (_req, res) => res.writeHead(500).end('{"error":"no handler"}');
  readonly requests: Array<{ path: string; bytes: number; closedAt?: number; receivedAt: number }> = [];
  private readonly server: Server;
  port = 0;

  constructor(
    private readonly model: string,
    private readonly version = '0.6.0',
  ) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const entry = { name: this.model, model: this.model, size: 1000, digest: 'fault-digest', modified_at: '2026-01-01T00:00:00Z', details: { format: 'gguf', family: 'llama' } };
    const json = (value: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') return void res.writeHead(200).end(req.method === 'HEAD' ? undefined : 'Ollama is running');
    if (path === '/api/version') return json({ version: this.version });
    if (path === '/api/tags') return json({ models: [entry] });
    if (path === '/api/ps') return json({ models: [{ ...entry, size_vram: 0, context_length: 2048, expires_at: '2026-01-01T00:05:00Z' }] });

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const record: { path: string; bytes: number; closedAt?: number; receivedAt: number } = { path, bytes: body.length, receivedAt: Date.now() };
      this.requests.push(record);
      res.on('close', () => {
        record.closedAt = Date.now();
      });
      this.handler(req, res, body);
    });
  }
}

/** Reads a streamed response, recording when each chunk arrived. */
export async function readChunks(response: Response): Promise<Array<{ at: number; text: string }>> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const chunks: Array<{ at: number; text: string }> = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push({ at: performance.now(), text: decoder.decode(value, { stream: true }) });
  }
  return chunks;
}
