import type { Endpoint } from '../router/port';

/** A path the gateway routes to one node, chosen by the body's model. */
export type RoutedPath = { endpoint: Endpoint; openAi: boolean; acceptName: boolean };

export const routedPaths: Record<string, RoutedPath> = {
  '/api/chat': { endpoint: 'chat', openAi: false, acceptName: false },
  '/api/generate': { endpoint: 'generate', openAi: false, acceptName: false },
  '/api/embed': { endpoint: 'embed', openAi: false, acceptName: false },
  '/api/embeddings': { endpoint: 'embeddings', openAi: false, acceptName: false },
  '/api/show': { endpoint: 'show', openAi: false, acceptName: true },
  '/v1/chat/completions': { endpoint: 'chat', openAi: true, acceptName: false },
  '/v1/completions': { endpoint: 'generate', openAi: true, acceptName: false },
  '/v1/embeddings': { endpoint: 'embed', openAi: true, acceptName: false },
};

/** Ollama endpoints that manage one node's model store; the gateway cannot fan them out. */
export const nodeOnlyPaths = new Set([
  '/api/pull',
  '/api/push',
  '/api/create',
  '/api/copy',
  '/api/delete',
]);
