import { Writable } from 'node:stream';
import type { LogLine } from '../../../shared/types';
import type { EventBus } from '../core/event-bus';

/** pino's numeric levels and their names. */
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** Maximum length of a message forwarded to the renderer, in characters. */
const MAX_MESSAGE = 500;

/** Converts one pino JSON line to a `log:line` payload, or null when the line is not pino JSON. */
export function toLogLine(text: string): LogLine | null {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof record !== 'object' || record === null) return null;
  const { time, level, component, msg } = record as Record<string, unknown>;
  if (typeof msg !== 'string') return null;
  return {
    time: typeof time === 'number' ? time : Date.now(),
    level: typeof level === 'number' ? (LEVELS[level] ?? String(level)) : String(level ?? 'info'),
    component: typeof component === 'string' ? component : 'app',
    msg: msg.length > MAX_MESSAGE ? `${msg.slice(0, MAX_MESSAGE)}…` : msg,
  };
}

/**
 * Creates a pino destination that copies every line to `forward` (stderr by default) and publishes it as
 * a `log:line` event, so the dashboard can show recent log lines per node.
 */
export function createLogLineStream(bus: EventBus, forward: NodeJS.WritableStream = process.stderr): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const text = chunk.toString();
      forward.write(text);
      pending += text;
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        const line = toLogLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (line) bus.emit('log:line', line);
        newline = pending.indexOf('\n');
      }
      // A line longer than 64 KiB without a newline is not pino output; drop it.
      if (pending.length > 65_536) pending = '';
      callback();
    },
  });
}
