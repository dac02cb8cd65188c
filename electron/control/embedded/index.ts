export { startEmbeddedNode, EMBEDDED_OLLAMA_VERSION, type EmbeddedNode, type EmbeddedNodeOptions } from './server';
export { DEFAULT_NUM_CTX } from './context';
export { parseKeepAlive, DEFAULT_KEEP_ALIVE_MS } from './keep-alive';
export { MODEL_LOAD_FAILURE_PREFIX } from './scheduler';
