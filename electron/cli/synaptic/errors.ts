/** Exit codes: 0 success, 1 the operation failed, 2 the command line was invalid. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** An error that ends a command with a message for the user and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    readonly code: string = exitCode === EXIT_USAGE ? 'usage' : 'failed',
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE, 'usage');
}
