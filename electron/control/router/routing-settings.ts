import { join } from 'node:path';
import { routingSettingsSchema, type RoutingSettings } from '../../../shared/api/routing';
import { readJson, SerialWriter } from '../core/json-store';
import type { Logger } from '../core/logger';

/** Routing settings kept in `<dataDir>/routing.json`, written atomically on every change. */
export class RoutingSettingsStore {
  readonly path: string;
  private current: RoutingSettings = routingSettingsSchema.parse({});
  private readonly writer: SerialWriter;

  constructor(
    dataDir: string,
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
    this.current = routingSettingsSchema.parse({ ...this.current, ...defined });
    await this.writer.write(this.current);
    this.log.info({ settings: this.current }, 'Routing settings changed');
    return this.current;
  }
}
