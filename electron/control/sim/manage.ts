import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { displayModelName, parseModelName } from '../ollama-store/model-name';
import { sleep, type SimEngine } from './engine';
import type { SimModel } from './profile';
import { readJsonBody, sendError, sendJson } from './wire';

/** Ollama's message when the registry has no manifest for the requested name. */
export const manifestMissingMessage = 'pull model manifest: file does not exist';

/** The error a simulated download fault ends a pull with. */
export const downloadFailedMessage = 'max retries exceeded: unexpected EOF';

/** Progress lines sent per large layer. */
const progressSteps = 20;

/** Sizes of the small layers Ollama models carry besides the weights, in bytes. */
const smallLayers = [
  { kind: 'template', bytes: 1_429 },
  { kind: 'license', bytes: 7_711 },
  { kind: 'params', bytes: 96 },
];

type Layer = { digest: string; bytes: number };
type ProgressLine = { status: string; digest?: string; total?: number; completed?: number };

/** Handles `POST /api/pull`, `DELETE /api/delete` and `POST /api/copy` the way Ollama does. */
export async function handleModelManagement(
  engine: SimEngine,
  path: '/api/pull' | '/api/delete' | '/api/copy',
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await readJsonBody(req);
  if (body.kind === 'empty') return sendError(res, 400, 'missing request body');
  if (body.kind === 'invalid') return sendError(res, 400, body.message);
  if (typeof body.value !== 'object' || body.value === null || Array.isArray(body.value)) {
    return sendError(res, 400, 'request body must be a JSON object');
  }
  const request = body.value as Record<string, unknown>;
  if (path === '/api/pull') return pull(engine, request, res);
  if (path === '/api/delete') return remove(engine, request, res);
  return copy(engine, request, res);
}

function remove(engine: SimEngine, request: Record<string, unknown>, res: ServerResponse): void {
  const name = stringField(request.model) || stringField(request.name);
  if (!parseModelName(name)) return sendError(res, 400, `name ${JSON.stringify(name)} is invalid`);
  if (!engine.removeModel(name)) return sendError(res, 404, `model '${name}' not found`);
  engine.stats.deletes++;
  sendEmpty(res);
}

function copy(engine: SimEngine, request: Record<string, unknown>, res: ServerResponse): void {
  const source = stringField(request.source);
  const destination = stringField(request.destination);
  if (!parseModelName(source)) return sendError(res, 400, `source ${JSON.stringify(source)} is invalid`);
  const parsedDestination = parseModelName(destination);
  if (!parsedDestination) return sendError(res, 400, `destination ${JSON.stringify(destination)} is invalid`);
  if (!engine.copyModel(source, displayModelName(parsedDestination))) {
    return sendError(res, 404, `model ${JSON.stringify(source)} not found`);
  }
  engine.stats.copies++;
  sendEmpty(res);
}

/**
 * Streams a pull in Ollama's order: `pulling manifest`, one `pulling <digest>` series per layer
 * with `total` and growing `completed`, `verifying sha256 digest`, `writing manifest`, `success`.
 * Download time follows the node's `pullBytesPerSec` on the simulated clock. A model the node
 * already has is verified without waiting, as Ollama finds its layers on disk.
 */
async function pull(engine: SimEngine, request: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const name = stringField(request.model) || stringField(request.name);
  const parsed = parseModelName(name);
  if (!parsed) return sendError(res, 400, 'invalid model name');
  const stream = request.stream !== false;

  const controller = new AbortController();
  let finished = false;
  res.on('close', () => {
    if (finished) return;
    engine.stats.pullsAborted++;
    controller.abort();
  });
  const send = stream ? streamWriter(res) : () => undefined;
  const fail = (message: string): void => {
    finished = true;
    engine.stats.pullsFailed++;
    if (stream) res.end(`${JSON.stringify({ error: message })}\n`);
    else sendError(res, 500, message);
  };

  try {
    send({ status: 'pulling manifest' });
    await sleep(engine.realMs(50), controller.signal);
    const found = engine.findInRegistry(name);
    if (!found) return fail(manifestMissingMessage);

    const present = engine.findModel(name) !== undefined;
    const willFail = !present && engine.random() < engine.profile.faults.pullFailChance;
    for (const layer of layersOf(found)) {
      const ok = await downloadLayer(engine, layer, { present, willFail, send, signal: controller.signal });
      if (!ok) return fail(downloadFailedMessage);
    }

    send({ status: 'verifying sha256 digest' });
    send({ status: 'writing manifest' });
    engine.addModel({ ...found, name: displayModelName(parsed) });
    engine.stats.pulls++;
    finished = true;
    if (stream) res.end(`${JSON.stringify({ status: 'success' })}\n`);
    else sendJson(res, 200, { status: 'success' });
  } catch {
    // The client went away: the `close` handler has counted it and the model stays absent.
    finished = true;
  }
}

/**
 * Sends the progress of one layer and waits for its download time. Returns false when the
 * simulated download fault strikes, 40% into the weights layer.
 */
async function downloadLayer(
  engine: SimEngine,
  layer: Layer,
  options: { present: boolean; willFail: boolean; send: (line: ProgressLine) => void; signal: AbortSignal },
): Promise<boolean> {
  const status = `pulling ${layer.digest.slice('sha256:'.length, 'sha256:'.length + 12)}`;
  if (options.present) {
    options.send({ status, digest: layer.digest, total: layer.bytes, completed: layer.bytes });
    return true;
  }
  options.send({ status, digest: layer.digest, total: layer.bytes });
  const steps = layer.bytes > 1_000_000 ? progressSteps : 1;
  const failAt = options.willFail && steps > 1 ? Math.ceil(steps * 0.4) : Infinity;
  for (let step = 1; step <= steps; step++) {
    const completed = Math.round((layer.bytes * step) / steps);
    const previous = Math.round((layer.bytes * (step - 1)) / steps);
    await sleep(engine.realMs(((completed - previous) / engine.profile.pullBytesPerSec) * 1000), options.signal);
    if (step === failAt) return false;
    options.send({ status, digest: layer.digest, total: layer.bytes, completed });
  }
  return true;
}

/** Lists the weights layer and then the small layers, with digests derived from the model name. */
function layersOf(model: SimModel): Layer[] {
  const smallBytes = smallLayers.reduce((sum, layer) => sum + layer.bytes, 0);
  const weights = { digest: layerDigest(model.name, 'model'), bytes: Math.max(1, model.sizeBytes - smallBytes) };
  return [weights, ...smallLayers.map((layer) => ({ digest: layerDigest(model.name, layer.kind), bytes: layer.bytes }))];
}

function layerDigest(modelName: string, kind: string): string {
  return `sha256:${createHash('sha256').update(`${modelName.toLowerCase()}/${kind}`).digest('hex')}`;
}

function streamWriter(res: ServerResponse): (line: ProgressLine) => void {
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
  return (line) => {
    res.write(`${JSON.stringify(line)}\n`);
  };
}

/** Sends 200 with no body, as Ollama does for a successful delete or copy. */
function sendEmpty(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Length': 0 });
  res.end();
}

function stringField(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
