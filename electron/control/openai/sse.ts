import type { ServerResponse } from 'node:http';

/** Writes server-sent events as OpenAI streams them: `data: {json}` blocks and a final `data: [DONE]`. */
export class SseWriter {
  private started = false;

  constructor(private readonly res: ServerResponse) {}

  get hasStarted(): boolean {
    return this.started;
  }

  write(value: unknown): void {
    this.send(JSON.stringify(value));
  }

  done(): void {
    this.send('[DONE]');
    this.end();
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }

  private send(data: string): void {
    if (!this.started) {
      this.started = true;
      this.res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    }
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(`data: ${data}\n\n`);
  }
}
