import { z } from 'zod';
import {
  channels,
  isChannelName,
  type ChannelArgs,
  type ChannelName,
  type ChannelOutput,
} from '../../../shared/api';
import { ErrorCodes, fail, ok, type ApiResult } from '../../../shared/result';
import type { Logger } from './logger';

/** An error whose code and message reach the caller unchanged. */
export class ApiFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

type Handler<C extends ChannelName> = (args: ChannelArgs<C>) => Promise<ChannelOutput<C>> | ChannelOutput<C>;

/**
 * Table of API handlers. Both transports call `invoke`, which validates the arguments with the
 * channel's zod schema and always resolves to a result envelope.
 */
export class ApiRegistry {
  private readonly handlers = new Map<string, (args: unknown) => unknown>();

  constructor(private readonly log: Logger) {}

  handle<C extends ChannelName>(name: C, handler: Handler<C>): void {
    this.handlers.set(name, handler as (args: unknown) => unknown);
  }

  registered(): string[] {
    return [...this.handlers.keys()];
  }

  async invoke(name: string, rawArgs: unknown): Promise<ApiResult<unknown>> {
    if (!isChannelName(name)) {
      return fail(ErrorCodes.unknownChannel, `unknown channel '${name}'`);
    }
    const handler = this.handlers.get(name);
    if (!handler) {
      return fail(ErrorCodes.unavailable, `channel '${name}' has no handler in this build`);
    }
    const parsed = (channels[name].input as z.ZodType).safeParse(rawArgs ?? undefined);
    if (!parsed.success) {
      return fail(ErrorCodes.invalidArgument, formatZodError(name, parsed.error));
    }
    try {
      return ok(await handler(parsed.data));
    } catch (error) {
      if (error instanceof ApiFailure) return fail(error.code, error.message);
      this.log.error({ channel: name, err: error }, 'API handler failed');
      return fail(ErrorCodes.internal, (error as Error)?.message ?? String(error));
    }
  }
}

/** Lists every failing path, e.g. `nodes:add: url: url is required`. */
export function formatZodError(context: string, error: z.ZodError): string {
  const parts = error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : 'arguments';
    return `${path}: ${issue.message}`;
  });
  return `${context}: ${parts.join('; ')}`;
}
