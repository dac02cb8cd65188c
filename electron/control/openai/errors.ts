/**
 * Errors in the OpenAI shape `{"error": {"message", "type", "param", "code"}}`. The `type` follows
 * `NewError` in Ollama's openai/openai.go: 400 is `invalid_request_error`, 404 is
 * `not_found_error`, and any other status is `api_error`.
 */
export type OpenAiErrorBody = {
  error: { message: string; type: string; param: string | null; code: string | null };
};

export class OpenAiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

export function errorTypeFor(status: number): string {
  if (status === 400) return 'invalid_request_error';
  if (status === 404) return 'not_found_error';
  return 'api_error';
}

export function openAiErrorBody(status: number, message: string, param: string | null = null): OpenAiErrorBody {
  return { error: { message, type: errorTypeFor(status), param, code: null } };
}
