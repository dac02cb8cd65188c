import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Conversation } from '../../../shared/types';
import { readJson, writeJsonAtomic } from '../core/json-store';
import type { Logger } from '../core/logger';
import { conversationIdPattern, conversationSchema } from './conversation-schema';

/**
 * Conversations in memory, each mirrored to `<dir>/<id>.json`. Writes to one file run in order.
 * A file that fails validation is logged and skipped, and it stays on disk.
 */
export class ConversationStore {
  private readonly conversations = new Map<string, Conversation>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly lastSavedAt = new Map<string, number>();

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
    /** Minimum time between two throttled saves of one conversation, in ms. */
    private readonly saveIntervalMs: number,
  ) {}

  /** Reads every conversation file. Turns left running by an earlier process are marked failed. */
  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const names = (await readdir(this.dir)).filter((name) => name.endsWith('.json'));
    for (const name of names) {
      const path = join(this.dir, name);
      try {
        const result = await readJson(path, conversationSchema);
        if (result.kind !== 'ok') {
          if (result.kind === 'invalid') this.log.warn({ path, error: result.message }, 'Skipping invalid conversation file');
          continue;
        }
        const conversation = result.value;
        if (`${conversation.id}.json` !== name) {
          this.log.warn({ path, id: conversation.id }, 'Skipping conversation file whose id does not match its name');
          continue;
        }
        if (markInterrupted(conversation)) void this.save(conversation).catch(() => undefined);
        this.conversations.set(conversation.id, conversation);
      } catch (error) {
        this.log.error({ path, err: error }, 'Failed to read conversation file');
      }
    }
    this.log.info({ count: this.conversations.size, dir: this.dir }, 'Loaded conversations');
  }

  /** Returns all conversations, the most recently updated first. */
  list(): Conversation[] {
    return [...this.conversations.values()].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }

  get(id: string): Conversation | undefined {
    return this.conversations.get(id);
  }

  add(conversation: Conversation): void {
    if (!conversationIdPattern.test(conversation.id)) throw new Error(`invalid conversation id '${conversation.id}'`);
    this.conversations.set(conversation.id, conversation);
  }

  /** Writes the conversation now, after any write already queued for it. */
  save(conversation: Conversation): Promise<void> {
    const id = conversation.id;
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
    this.lastSavedAt.set(id, Date.now());
    const snapshot = structuredClone(conversation);
    return this.enqueue(id, async () => {
      if (!this.conversations.has(id)) return;
      await writeJsonAtomic(this.pathOf(id), snapshot);
    });
  }

  /** Writes the conversation at most once per save interval. A timer writes the latest state. */
  scheduleSave(conversation: Conversation): void {
    const id = conversation.id;
    if (this.timers.has(id)) return;
    const wait = (this.lastSavedAt.get(id) ?? 0) + this.saveIntervalMs - Date.now();
    if (wait <= 0) {
      void this.save(conversation).catch(() => undefined);
      return;
    }
    this.timers.set(
      id,
      setTimeout(() => void this.save(conversation).catch(() => undefined), wait),
    );
  }

  /** Removes the conversation and its file; returns false when no such conversation exists. */
  async delete(id: string): Promise<boolean> {
    if (!this.conversations.delete(id)) return false;
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
    this.lastSavedAt.delete(id);
    await this.enqueue(id, async () => {
      await unlink(this.pathOf(id)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    });
    return true;
  }

  /** Writes every conversation with a throttled save still pending, and waits for all writes. */
  async flush(): Promise<void> {
    for (const id of [...this.timers.keys()]) {
      const conversation = this.conversations.get(id);
      if (conversation) void this.save(conversation).catch(() => undefined);
    }
    await Promise.all([...this.chains.values()]);
  }

  private enqueue(id: string, write: () => Promise<void>): Promise<void> {
    const previous = this.chains.get(id) ?? Promise.resolve();
    const next = previous.then(write).catch((error) => {
      this.log.error({ conversationId: id, err: error }, 'Failed to write conversation file');
      throw error;
    });
    const settled = next.catch(() => undefined);
    this.chains.set(id, settled);
    void settled.then(() => {
      if (this.chains.get(id) === settled) this.chains.delete(id);
    });
    return next;
  }

  private pathOf(id: string): string {
    return join(this.dir, `${id}.json`);
  }
}

function markInterrupted(conversation: Conversation): boolean {
  let changed = false;
  for (const turn of conversation.turns) {
    if (turn.status !== 'running') continue;
    turn.status = 'error';
    for (const step of turn.steps) {
      if (step.status === 'pending' || step.status === 'running') {
        step.status = 'error';
        step.error = 'interrupted: the control plane stopped while this step was running';
      }
    }
    changed = true;
  }
  return changed;
}
