import { connect, type ApiClient } from './client';
import type { GlobalFlags } from './command-line';

export type Output = { out(text: string): void; err(text: string): void };

/**
 * One connection to the control plane, opened on first use and shared by every command of an
 * interactive session. Connection flags are taken from the command line that started synaptic.
 */
export class Session {
  private connecting?: Promise<ApiClient>;

  constructor(
    readonly startFlags: GlobalFlags,
    readonly output: Output,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  client(flags: GlobalFlags): Promise<ApiClient> {
    if (!this.connecting) {
      const merged: GlobalFlags = {
        ...flags,
        api: flags.api ?? this.startFlags.api,
        token: flags.token ?? this.startFlags.token,
        data: flags.data ?? this.startFlags.data,
        models: flags.models ?? this.startFlags.models,
        local: flags.local || this.startFlags.local,
      };
      this.connecting = connect(merged, (line) => this.output.err(line), this.env);
      // A failed connection is retried by the next command rather than cached.
      this.connecting.catch(() => (this.connecting = undefined));
    }
    return this.connecting;
  }

  async close(): Promise<void> {
    const pending = this.connecting;
    this.connecting = undefined;
    if (!pending) return;
    const client = await pending.catch(() => undefined);
    await client?.close();
  }
}
