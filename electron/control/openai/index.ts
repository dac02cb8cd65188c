export { createOpenAiHandler, MAX_OPENAI_BODY_BYTES, type OpenAiHandler, type OpenAiHandlerOptions } from './handler';
export { OpenAiError, openAiErrorBody, errorTypeFor, type OpenAiErrorBody } from './errors';
