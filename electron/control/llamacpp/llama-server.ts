import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../core/logger';
import { sleep } from './net';
import { OutputSink } from './output-sink';

export type LlamaServerRunOptions = {
  binary: string;
  args: string[];
  port: number;
  log: Logger;
  onLine?: (line: string) => void;
  onExit?: (info: { code: number | null; signal: NodeJS.Signals | null; message: string }) => void;
  /** Fails the start when no load progress arrives for this long; every output line counts as progress. */
  stallTimeoutMs?: number;
  /** Absolute cap on the whole start. */
  startTimeoutMs?: number;
};

/** Raised when llama-server exits or stalls before it is ready; carries the exit code and captured lines. */
export class LlamaServerStartError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly lines: string[],
  ) {
    super(message);
    this.name = 'LlamaServerStartError';
  }
}

/**
 * One llama-server process. `start` resolves when `GET /health` returns 200. llama-server
 * returns 503 while it loads the model, so a live process is not yet a ready one.
 */
export class LlamaServerProcess {
  private child: ChildProcess | null = null;
  readonly sink: OutputSink;
  private lastProgressAt = Date.now();
  private exited = false;
  private stopRequested = false;
  readonly url: string;

  constructor(private readonly options: LlamaServerRunOptions) {
    this.url = `http://127.0.0.1:${options.port}`;
    this.sink = new OutputSink((line) => options.onLine?.(line));
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null && !this.exited;
  }

  async start(): Promise<void> {
    const { binary, args, log } = this.options;
    log.info({ binary, args }, 'Starting llama-server');
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let spawnError: Error | null = null;
    child.on('error', (err) => (spawnError = err));
    // Any output counts as load progress, including the dots llama.cpp prints without a newline.
    const onData = (c: Buffer) => {
      this.lastProgressAt = Date.now();
      this.sink.write(c);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code, signal) => {
      this.exited = true;
      this.sink.end();
      const message = this.describeExit(code, signal);
      if (!this.stopRequested) log.warn({ code, signal, lines: this.sink.lastErrorLines().slice(-5) }, 'llama-server exited');
      this.options.onExit?.({ code, signal, message });
    });

    // NOTE: 60 s without output is a guess; sending a large model to RPC backends over a slow
    // network may print nothing for longer, so callers with big models should raise it.
    const stallMs = this.options.stallTimeoutMs ?? 60_000;
    const startDeadline = Date.now() + (this.options.startTimeoutMs ?? 10 * 60_000);
    this.lastProgressAt = Date.now();
    while (true) {
      if (spawnError) throw new LlamaServerStartError(`failed to start ${binary}: ${(spawnError as Error).message}`, null, []);
      if (this.exited) {
        throw new LlamaServerStartError(this.describeExit(child.exitCode, child.signalCode), child.exitCode, this.sink.lastLines());
      }
      if (Date.now() - this.lastProgressAt > stallMs || Date.now() > startDeadline) {
        await this.stop();
        throw new LlamaServerStartError(
          `llama-server made no load progress for ${stallMs} ms and was stopped${this.tail()}`,
          null,
          this.sink.lastLines(),
        );
      }
      const status = await this.health();
      if (status === 200) {
        log.info({ url: this.url, pid: child.pid }, 'llama-server ready');
        return;
      }
      await sleep(200);
    }
  }

  /** Returns the `/health` status code, or null when the request fails. */
  async health(): Promise<number | null> {
    try {
      const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return null;
    }
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    const child = this.child;
    if (!child || this.exited) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private tail(): string {
    const lines = this.sink.lastErrorLines().length > 0 ? this.sink.lastErrorLines() : this.sink.lastLines();
    return lines.length ? `: ${lines.slice(-5).join(' | ')}` : '';
  }

  private describeExit(code: number | null, signal: NodeJS.Signals | null): string {
    const how = signal ? `signal ${signal}` : `code ${code}`;
    return `llama-server exited with ${how}${this.tail()}`;
  }
}
