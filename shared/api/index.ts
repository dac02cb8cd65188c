import type { z } from 'zod';
import type { ChannelSpec } from './channel';
import { nodesChannels } from './nodes';
import { chatChannels } from './chat';
import { systemChannels } from './system';
import { distributedChannels } from './distributed';
import { discoveryChannels } from './discovery';
import { routingChannels } from './routing';
import { metricsChannels } from './metrics';

/**
 * Every method of the control plane's API. IPC in Electron and `POST /rpc/<channel>` in serve
 * mode both dispatch on these names; add a domain by spreading its channel table here.
 */
export const channels = {
  ...nodesChannels,
  ...chatChannels,
  ...systemChannels,
  ...distributedChannels,
  ...discoveryChannels,
  ...routingChannels,
  ...metricsChannels,
};

export type Channels = typeof channels;
export type ChannelName = keyof Channels & string;
export type ChannelInput<C extends ChannelName> = z.input<Channels[C]['input']>;
export type ChannelArgs<C extends ChannelName> = z.output<Channels[C]['input']>;
export type ChannelOutput<C extends ChannelName> =
  Channels[C] extends ChannelSpec<z.ZodType, infer O> ? O : never;

export function isChannelName(name: string): name is ChannelName {
  return Object.prototype.hasOwnProperty.call(channels, name);
}
