/** Envelope returned by every IPC and `POST /rpc/<channel>` call. */
export type ApiError = { code: string; message: string };
export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export function ok<T>(value: T): ApiResult<T> {
  return { ok: true, value };
}

export function fail(code: string, message: string): ApiResult<never> {
  return { ok: false, error: { code, message } };
}

/** Stable error codes shared by main, renderer and the HTTP transport. */
export const ErrorCodes = {
  invalidArgument: 'invalid_argument',
  notFound: 'not_found',
  conflict: 'conflict',
  unavailable: 'unavailable',
  unauthorized: 'unauthorized',
  internal: 'internal',
  unknownChannel: 'unknown_channel',
} as const;
