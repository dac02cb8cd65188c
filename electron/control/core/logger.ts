import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Creates the root logger. Each component takes `root.child({ component })`. Fields that may
 * carry secrets are redacted wherever they appear.
 */
export function createRootLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}) {
  const level = options.level ?? process.env.SYNAPTIC_LOG_LEVEL ?? 'info';
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    options.destination ?? process.stderr,
  );
}

/** A logger that drops everything, for tests that do not look at log output. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
