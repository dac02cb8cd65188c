import type { ServerResponse } from 'node:http';
import { openAiErrorBody } from '../openai/errors';

/** Sends `{"error": message}` with a real status, as Ollama does for errors before any output. */
export function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: message });
}

/** Sends an error in the OpenAI shape that the `/v1/*` endpoints use. */
export function sendOpenAiError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, openAiErrorBody(status, message));
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headOnly = false): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
  res.end(headOnly ? undefined : body);
}

export function sendText(res: ServerResponse, status: number, text: string, headOnly = false): void {
  const body = Buffer.from(text);
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
  res.end(headOnly ? undefined : body);
}
