import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { EventBus } from '../core/event-bus';
import type { Logger } from '../core/logger';

/** A client whose unsent frames exceed this many bytes misses frames until it catches up. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const HEARTBEAT_MS = 30_000;

/**
 * The `/events` WebSocket: every bus event goes to every connected client as one
 * `{ type, payload }` JSON text frame. Clients never send anything the server reads.
 */
export class EventsSocket {
  private readonly server = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private dropped = 0;

  constructor(
    bus: EventBus,
    private readonly log: Logger,
  ) {
    this.unsubscribe = bus.subscribe((type, payload) => this.broadcast(type, payload));
    this.heartbeat = setInterval(() => this.checkAlive(), HEARTBEAT_MS);
    this.heartbeat.unref();
    this.server.on('connection', (socket) => {
      this.alive.set(socket, true);
      socket.on('pong', () => this.alive.set(socket, true));
      socket.on('error', (error) => this.log.debug({ err: error }, 'Event socket error'));
    });
  }

  get clientCount(): number {
    return this.server.clients.size;
  }

  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.server.handleUpgrade(request, socket, head, (ws) => this.server.emit('connection', ws, request));
  }

  private broadcast(type: string, payload: unknown): void {
    if (this.server.clients.size === 0) return;
    let frame: string;
    try {
      frame = JSON.stringify({ type, payload });
    } catch (error) {
      this.log.warn({ type, err: error }, 'Event payload is not serialisable; frame dropped');
      return;
    }
    for (const client of this.server.clients) {
      if (client.readyState !== WebSocket.OPEN) continue;
      if (client.bufferedAmount > MAX_BUFFERED_BYTES) {
        this.dropped += 1;
        if (this.dropped === 1 || this.dropped % 1000 === 0) {
          this.log.warn({ dropped: this.dropped }, 'Slow event client; frames dropped');
        }
        continue;
      }
      client.send(frame);
    }
  }

  private checkAlive(): void {
    for (const client of this.server.clients) {
      if (this.alive.get(client) === false) {
        client.terminate();
        continue;
      }
      this.alive.set(client, false);
      client.ping();
    }
  }

  async close(): Promise<void> {
    this.unsubscribe();
    clearInterval(this.heartbeat);
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolvePromise) => this.server.close(() => resolvePromise()));
  }
}
