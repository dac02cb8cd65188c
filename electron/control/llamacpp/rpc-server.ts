import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../core/logger';
import { DEFAULT_RESTART_POLICY, nextRestartDelay, type RestartPolicy } from './backoff';
import { buildRpcServerArgs, isLoopbackHost, type RpcServerFlagInput } from './flags';
import { probeTcp, sleep } from './net';
import { OutputSink } from './output-sink';

export type LocalRpcState = 'starting' | 'ready' | 'restarting' | 'stopped' | 'failed';

export type LocalRpcView = {
  endpoint: string;
  host: string;
  port: number;
  pid: number | null;
  state: LocalRpcState;
  restarts: number;
  lastExitCode: number | null;
  lastError?: string;
  /** Set when the server listens beyond loopback: the RPC protocol has no authentication. */
  exposed: boolean;
  args: string[];
};

export type LocalRpcOptions = RpcServerFlagInput & {
  binary: string;
  log: Logger;
  onLine?: (line: string) => void;
  onState?: (view: LocalRpcView) => void;
  policy?: RestartPolicy;
  readyTimeoutMs?: number;
  now?: () => number;
};

/**
 * A supervised local RPC server. It is ready once its port accepts TCP connections. When it
 * exits without a stop request it is restarted with capped backoff, at most `policy.maxRestarts`
 * times per window, then marked failed.
 */
export class LocalRpcServer {
  private child: ChildProcess | null = null;
  private stopping = false;
  private readonly restartTimes: number[] = [];
  private view: LocalRpcView;
  private readonly sink: OutputSink;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: LocalRpcOptions) {
    const host = options.host ?? '127.0.0.1';
    const args = buildRpcServerArgs(options);
    this.view = {
      endpoint: `${host}:${options.port}`,
      host,
      port: options.port,
      pid: null,
      state: 'stopped',
      restarts: 0,
      lastExitCode: null,
      exposed: !isLoopbackHost(host),
      args,
    };
    this.sink = new OutputSink((line) => options.onLine?.(line));
  }

  snapshot(): LocalRpcView {
    return { ...this.view };
  }

  /** Starts the process and resolves once the port accepts connections; rejects with the exit code and last lines otherwise. */
  async start(): Promise<LocalRpcView> {
    this.stopping = false;
    if (this.view.exposed) {
      this.options.log.warn({ endpoint: this.view.endpoint }, 'RPC server listens beyond loopback; the RPC protocol has no authentication');
    }
    await this.spawnAndWait();
    return this.snapshot();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    this.child = null;
    this.setState({ state: 'stopped', pid: null });
  }

  private setState(patch: Partial<LocalRpcView>): void {
    this.view = { ...this.view, ...patch };
    this.options.onState?.(this.snapshot());
  }

  private async spawnAndWait(): Promise<void> {
    const { binary, log } = this.options;
    log.info({ binary, args: this.view.args }, 'Starting RPC server');
    this.setState({ state: this.view.restarts > 0 ? 'restarting' : 'starting', lastError: undefined });
    const child = spawn(binary, this.view.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.on('data', (c: Buffer) => this.sink.write(c));
    child.stderr?.on('data', (c: Buffer) => this.sink.write(c));
    let spawnError: Error | null = null;
    child.on('error', (err) => (spawnError = err));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    this.setState({ pid: child.pid ?? null });

    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 15_000);
    while (Date.now() < deadline) {
      if (spawnError) throw new Error(`failed to start ${binary}: ${(spawnError as Error).message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(this.exitMessage(child.exitCode, child.signalCode));
      }
      const probe = await probeTcp(this.connectHost(), this.view.port, 500);
      if (probe.ok) {
        this.setState({ state: 'ready' });
        log.info({ endpoint: this.view.endpoint, pid: child.pid }, 'RPC server ready');
        return;
      }
      await sleep(100);
    }
    child.kill('SIGKILL');
    throw new Error(`RPC server on ${this.view.endpoint} did not accept connections within ${this.options.readyTimeoutMs ?? 15_000} ms`);
  }

  private connectHost(): string {
    const h = this.view.host;
    return h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h;
  }

  private exitMessage(code: number | null, signal: NodeJS.Signals | null): string {
    const lines = this.sink.lastErrorLines().length > 0 ? this.sink.lastErrorLines() : this.sink.lastLines();
    const how = signal ? `signal ${signal}` : `code ${code}`;
    return `RPC server on ${this.view.endpoint} exited with ${how}${lines.length ? `: ${lines.slice(-5).join(' | ')}` : ''}`;
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.sink.end();
    if (child !== this.child) return;
    this.child = null;
    const message = this.exitMessage(code, signal);
    this.setState({ pid: null, lastExitCode: code });
    if (this.stopping) return;

    const now = (this.options.now ?? Date.now)();
    const delay = nextRestartDelay(this.restartTimes, now, this.options.policy ?? DEFAULT_RESTART_POLICY);
    if (delay === null) {
      this.options.log.error({ endpoint: this.view.endpoint, restarts: this.view.restarts }, 'RPC server exited too often; not restarting');
      this.setState({ state: 'failed', lastError: `${message}; restart limit reached` });
      return;
    }
    this.options.log.warn({ endpoint: this.view.endpoint, code, signal, delayMs: delay }, 'RPC server exited; restarting');
    this.setState({ state: 'restarting', lastError: message });
    this.restartTimes.push(now);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping) return;
      this.view.restarts += 1;
      this.spawnAndWait().catch((err: Error) => {
        this.options.log.error({ endpoint: this.view.endpoint, err }, 'RPC server restart failed');
        if (this.view.state !== 'restarting') this.setState({ state: 'failed', lastError: err.message });
      });
    }, delay);
  }
}
