import { join } from 'node:path';
import { routingSettingsSchema, type RoutingSettings } from '../../../shared/api/routing';
import { readJson, saveOrRollback, SerialWriter } from '../core/json-store';
import type { Logger } from '../core/logger';

/** Routing settings kept in `<dataDir>/routing.json`, written atomically on every change. */
export class RoutingSettingsStore {
  readonly path: string;
  private current: RoutingSettings = routingSettingsSchema.parse({});
  private readonly writer: SerialWriter;

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {
    this.path = join(dataDir, 'routing.json');
    this.writer = new SerialWriter(this.path);
  }

  get value(): RoutingSettings {
    return this.current;
  }

  /** Loads saved settings; a missing file keeps the defaults and an invalid one is logged and ignored. */
  async load(): Promise<RoutingSettings> {
    const result = await readJson(this.path, routingSettingsSchema);
    if (result.kind === 'ok') this.current = result.value;
    if (result.kind === 'invalid') this.log.warn({ path: this.path, reason: result.message }, 'Ignoring invalid routing settings file');
    return this.current;
  }

  /** Applies a validated partial update and saves the result. */
  async update(patch: Partial<RoutingSettings>): Promise<RoutingSettings> {
    const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    const previous = this.current;
    this.current = routingSettingsSchema.parse({ ...this.current, ...defined });
    await saveOrRollback(this.dataDir, 'the routing settings', () => this.writer.write(this.current), () => {
      this.current = previous;
    });
    this.log.info({ settings: this.current }, 'Routing settings changed');
    return this.current;
  }
}
