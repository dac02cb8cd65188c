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

/** Ollama endpoints that change nodes' model stores; manage.ts serves them for the fleet. */
export const modelManagementPaths: ReadonlySet<string> = new Set([
  '/api/pull',
  '/api/push',
  '/api/create',
  '/api/copy',
  '/api/delete',
]);

/** Prefix of `HEAD|POST /api/blobs/<digest>`, the uploads that `/api/create` uses. */
export const blobPathPrefix = '/api/blobs/';

export function isModelManagementPath(path: string): boolean {
  return modelManagementPaths.has(path) || path.startsWith(blobPathPrefix);
}
