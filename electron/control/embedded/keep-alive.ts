/** Ollama's `keep_alive`: how long a model stays loaded after a request. */

/** Ollama's default keep-alive, 5 minutes. */
export const DEFAULT_KEEP_ALIVE_MS = 5 * 60_000;

/** A keep-alive that never expires (any negative `keep_alive`). */
export const KEEP_ALIVE_FOREVER = Number.POSITIVE_INFINITY;

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses `keep_alive` into milliseconds: a number of seconds, a numeric string of seconds, or a
 * Go duration string such as `5m`, `1h30m` or `-1s`. Negative values mean forever and 0 means
 * unload once the request ends. Returns an error message naming the value when it is invalid.
 */
export function parseKeepAlive(value: unknown): { ms: number } | { error: string } {
  if (value === undefined || value === null) return { ms: DEFAULT_KEEP_ALIVE_MS };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { error: `invalid keep_alive ${value}` };
    return { ms: value < 0 ? KEEP_ALIVE_FOREVER : value * 1000 };
  }
  if (typeof value !== 'string') return { error: `invalid keep_alive ${JSON.stringify(value)}` };

  const text = value.trim();
  if (/^[-+]?\d+(\.\d+)?$/.test(text)) return parseKeepAlive(Number(text));

  const match = /^([-+]?)((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(text);
  if (!match) {
    return { error: `invalid keep_alive "${value}": use seconds or a duration such as "5m" or "1h"` };
  }
  let ms = 0;
  for (const part of match[2].matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    ms += Number(part[1]) * UNIT_MS[part[2]];
  }
  if (match[1] === '-' && ms > 0) return { ms: KEEP_ALIVE_FOREVER };
  return { ms };
}
