import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCodes, fail, type ApiResult } from '../../../shared/result';
import type { ApiRegistry } from '../core/api-registry';

/** Largest accepted `/rpc` body. Chat questions are capped at 100 000 characters by the contract. */
export const MAX_RPC_BODY_BYTES = 1024 * 1024;

const STATUS_BY_CODE: Record<string, number> = {
  [ErrorCodes.invalidArgument]: 400,
  [ErrorCodes.unauthorized]: 401,
  [ErrorCodes.notFound]: 404,
  [ErrorCodes.unknownChannel]: 404,
  [ErrorCodes.conflict]: 409,
  [ErrorCodes.internal]: 500,
  [ErrorCodes.unavailable]: 503,
};

/** Maps an API result to its HTTP status; the body is always the envelope itself. */
export function statusForResult(result: ApiResult<unknown>): number {
  if (result.ok) return 200;
  return STATUS_BY_CODE[result.error.code] ?? 500;
}

export function sendEnvelope(response: ServerResponse, status: number, body: ApiResult<unknown>): void {
  const text = JSON.stringify(body);
  response.statusCode = status;
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.setHeader('Cache-Control', 'no-store');
  response.setHeader('Content-Length', String(Buffer.byteLength(text)));
  response.end(text);
}

type BodyOutcome = { kind: 'ok'; text: string } | { kind: 'too_large' } | { kind: 'aborted' };

function readBody(request: IncomingMessage, limit: number): Promise<BodyOutcome> {
  return new Promise((resolvePromise) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      request.resume();
      resolvePromise({ kind: 'too_large' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (outcome: BodyOutcome) => {
      if (settled) return;
      settled = true;
      resolvePromise(outcome);
    };
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        request.resume();
        settle({ kind: 'too_large' });
        return;
      }
      if (!settled) chunks.push(chunk);
    });
    request.on('end', () => settle({ kind: 'ok', text: Buffer.concat(chunks).toString('utf8') }));
    request.on('error', () => settle({ kind: 'aborted' }));
    request.on('aborted', () => settle({ kind: 'aborted' }));
  });
}

/**
 * Handles `POST /rpc/<channel>`: the JSON body is the channel's argument (an empty body means
 * no argument) and the response is the `ApiResult` envelope that `ApiRegistry.invoke` returns.
 */
export async function handleRpc(
  api: ApiRegistry,
  channel: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (request.method !== 'POST') {
    response.setHeader('Allow', 'POST');
    sendEnvelope(response, 405, fail(ErrorCodes.invalidArgument, `method ${request.method} is not allowed on /rpc; use POST`));
    return;
  }
  const contentType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (contentType !== '' && contentType !== 'application/json') {
    sendEnvelope(response, 415, fail(ErrorCodes.invalidArgument, `content type '${contentType}' is not supported; send application/json`));
    return;
  }

  const body = await readBody(request, MAX_RPC_BODY_BYTES);
  if (body.kind === 'aborted') return;
  if (body.kind === 'too_large') {
    sendEnvelope(response, 413, fail(ErrorCodes.invalidArgument, `request body for '${channel}' is larger than ${MAX_RPC_BODY_BYTES} bytes`));
    return;
  }

  let args: unknown = undefined;
  if (body.text.trim() !== '') {
    try {
      args = JSON.parse(body.text);
    } catch (error) {
      sendEnvelope(response, 400, fail(ErrorCodes.invalidArgument, `invalid JSON body for '${channel}': ${(error as Error).message}`));
      return;
    }
  }

  const result = await api.invoke(channel, args);
  sendEnvelope(response, statusForResult(result), result);
}
