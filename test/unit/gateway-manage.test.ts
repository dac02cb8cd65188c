import { describe, expect, it } from 'vitest';
import type { NodeView } from '../../shared/types';
import { parseCopyBody, parseDeleteBody, parsePullBody } from '../../electron/control/gateway/manage-body';
import { fanOutTargets, singleTarget } from '../../electron/control/gateway/manage-targets';
import { describeNodeFailures, describeRequestError, failureStatus } from '../../electron/control/gateway/node-failures';
import { PullProgress } from '../../electron/control/gateway/pull-progress';
import { mergeByDigest } from '../../electron/control/gateway/merge';

const digest = `sha256:${'ab'.repeat(32)}`;

function node(id: string, overrides: Partial<NodeView> = {}): NodeView {
  return {
    id,
    url: `http://127.0.0.1:1${id.length}`,
    name: id.replace('node-', ''),
    kind: 'ollama',
    health: 'up',
    consecutiveFailures: 0,
    models: [],
    loaded: [],
    inFlight: 0,
    problems: [],
    ...overrides,
  };
}

describe('PullProgress', () => {
  it('sums total over every pulling node from the first line', () => {
    const progress = new PullProgress(['a', 'b']);
    const [line] = progress.accept('a', { status: 'pulling abababababab', digest, total: 100 });
    expect(line).toEqual({ status: 'pulling abababababab', digest, total: 200 });
  });

  it('sums completed across nodes and never decreases', () => {
    const progress = new PullProgress(['a', 'b']);
    progress.accept('a', { status: 'pulling x', digest, total: 100, completed: 40 });
    const [both] = progress.accept('b', { status: 'pulling x', digest, total: 100, completed: 10 });
    expect(both.completed).toBe(50);
    expect(both.total).toBe(200);
    const [stale] = progress.accept('a', { status: 'pulling x', digest, total: 100, completed: 30 });
    expect(stale.completed).toBe(50);
  });

  it('passes other status lines once', () => {
    const progress = new PullProgress(['a', 'b']);
    expect(progress.accept('a', { status: 'pulling manifest' })).toEqual([{ status: 'pulling manifest' }]);
    expect(progress.accept('b', { status: 'pulling manifest' })).toEqual([]);
  });

  it('holds back success until every node succeeded', () => {
    const progress = new PullProgress(['a', 'b']);
    expect(progress.accept('a', { status: 'success' })).toEqual([]);
    expect(progress.done()).toBe(false);
    expect(progress.pending()).toEqual(['b']);
    progress.accept('b', { status: 'success' });
    expect(progress.done()).toBe(true);
    expect(progress.succeeded()).toEqual(['a', 'b']);
    expect(progress.failures()).toEqual([]);
  });

  it('records an error line as that node failing', () => {
    const progress = new PullProgress(['a', 'b']);
    progress.accept('a', { error: 'pull model manifest: file does not exist' });
    progress.accept('a', { status: 'success' });
    progress.accept('b', { status: 'success' });
    expect(progress.done()).toBe(true);
    expect(progress.succeeded()).toEqual(['b']);
    expect(progress.failures()).toEqual([{ node: 'a', error: 'pull model manifest: file does not exist', status: undefined }]);
  });

  it('ignores lines from a node after it failed', () => {
    const progress = new PullProgress(['a']);
    progress.fail('a', 'connection reset', undefined);
    expect(progress.accept('a', { status: 'pulling x', digest, total: 1, completed: 1 })).toEqual([]);
  });
});

describe('describeNodeFailures', () => {
  it('groups nodes that failed the same way', () => {
    const message = describeNodeFailures("pull of 'x'", [
      { node: 'b', error: 'file does not exist' },
      { node: 'c', error: 'file does not exist' },
    ]);
    expect(message).toBe("pull of 'x' failed on nodes b, c: file does not exist");
  });

  it('lists different errors and the nodes that succeeded', () => {
    const message = describeNodeFailures("delete of 'x'", [
      { node: 'b', error: 'disk full' },
      { node: 'c', error: 'timed out' },
    ], ['a']);
    expect(message).toBe("delete of 'x' failed on node b: disk full; node c: timed out (succeeded on a)");
  });

  it('keeps a shared node status and falls back otherwise', () => {
    expect(failureStatus([{ node: 'a', error: 'e', status: 400 }, { node: 'b', error: 'e', status: 400 }], 500)).toBe(400);
    expect(failureStatus([{ node: 'a', error: 'e', status: 400 }, { node: 'b', error: 'e' }], 500)).toBe(500);
  });
});

describe('fanOutTargets', () => {
  const fleet = [
    node('node-a'),
    node('node-b', { health: 'degraded' }),
    node('node-down', { health: 'down', lastError: 'connection refused' }),
    node('node-emb', { kind: 'embedded' }),
    node('node-ls', { kind: 'llama-server' }),
    node('node-sim', { kind: 'simulated' }),
  ];

  it('defaults to Ollama nodes that are up or degraded', () => {
    const outcome = fanOutTargets(fleet, undefined, 'pull');
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.value.map((n) => n.id)).toEqual(['node-a', 'node-b', 'node-sim']);
  });

  it('restricts to nodes named by name or id', () => {
    const outcome = fanOutTargets(fleet, 'A, node-sim,a', 'pull');
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.value.map((n) => n.id)).toEqual(['node-a', 'node-sim']);
  });

  it('rejects a header that names no node', () => {
    const outcome = fanOutTargets(fleet, ' , ,', 'pull');
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.status).toBe(400);
    if (!outcome.ok) expect(outcome.message).toContain('names no node');
  });

  it('rejects an unknown node by name', () => {
    const outcome = fanOutTargets(fleet, 'a, nope', 'delete');
    expect(outcome).toMatchObject({ ok: false, status: 400 });
    expect(outcome).toMatchObject({ ok: false, message: expect.stringContaining("unknown node 'nope'") });
  });

  it('rejects an embedded node that is named', () => {
    const outcome = fanOutTargets(fleet, 'emb', 'pull');
    expect(outcome).toMatchObject({ ok: false, status: 400 });
    expect(outcome).toMatchObject({ ok: false, message: expect.stringContaining("node 'emb' is an embedded node, which cannot pull models") });
  });

  it('rejects a llama-server node that is named', () => {
    const outcome = fanOutTargets(fleet, 'ls', 'delete');
    expect(outcome).toMatchObject({ ok: false, message: expect.stringContaining('cannot delete models') });
  });

  it('rejects a named node that is down', () => {
    const outcome = fanOutTargets(fleet, 'down', 'copy');
    expect(outcome).toMatchObject({ ok: false, status: 503 });
    expect(outcome).toMatchObject({ ok: false, message: expect.stringContaining('connection refused') });
  });

  it('returns 503 when no Ollama node is up', () => {
    const outcome = fanOutTargets([node('node-emb', { kind: 'embedded' })], undefined, 'pull');
    expect(outcome).toMatchObject({ ok: false, status: 503 });
  });
});

describe('singleTarget', () => {
  it('uses the only Ollama node that is up', () => {
    const outcome = singleTarget([node('node-a'), node('node-emb', { kind: 'embedded' })], undefined, 'create');
    expect(outcome).toMatchObject({ ok: true, value: { id: 'node-a' } });
  });

  it('asks for the header when several nodes are up', () => {
    const outcome = singleTarget([node('node-a'), node('node-b')], undefined, 'push');
    expect(outcome).toMatchObject({ ok: false, status: 400 });
    expect(outcome).toMatchObject({ ok: false, message: expect.stringContaining('x-synaptic-node') });
  });

  it('rejects two named nodes', () => {
    const outcome = singleTarget([node('node-a'), node('node-b')], 'a,b', 'create');
    expect(outcome).toMatchObject({ ok: false, message: expect.stringContaining('exactly one node') });
  });

  it('uses the named node', () => {
    const outcome = singleTarget([node('node-a'), node('node-b')], 'node-b', 'create');
    expect(outcome).toMatchObject({ ok: true, value: { id: 'node-b' } });
  });
});

describe('model management bodies', () => {
  it('reads the older name key of pull', () => {
    expect(parsePullBody(Buffer.from('{"name":"llama3.2"}'))).toEqual({ ok: true, value: { model: 'llama3.2', insecure: undefined, stream: true } });
  });

  it('reads stream false', () => {
    const parsed = parsePullBody(Buffer.from('{"model":"llama3.2","stream":false}'));
    expect(parsed).toMatchObject({ ok: true, value: { stream: false } });
  });

  it.each([
    ['', 'missing request body'],
    ['{', 'invalid JSON'],
    ['[]', 'request body must be a JSON object'],
    ['{}', 'model is required'],
    ['{"model":"a/b/c/d"}', 'invalid model name'],
    ['{"model":7}', 'model must be a string, got 7'],
    ['{"model":"x","stream":"no"}', 'stream must be true or false, got "no"'],
  ])('rejects pull body %s', (text, message) => {
    const parsed = parsePullBody(Buffer.from(text));
    expect(parsed).toMatchObject({ ok: false, message: expect.stringContaining(message) });
  });

  it('names the invalid delete model', () => {
    const parsed = parseDeleteBody(Buffer.from('{"model":"bad name!"}'));
    expect(parsed).toMatchObject({ ok: false, message: 'name "bad name!" is invalid' });
  });

  it('names the invalid copy source and destination', () => {
    const source = parseCopyBody(Buffer.from('{"destination":"b"}'));
    expect(source).toMatchObject({ ok: false, message: 'source "" is invalid' });
    const destination = parseCopyBody(Buffer.from('{"source":"a","destination":"../x"}'));
    expect(destination).toMatchObject({ ok: false, message: 'destination "../x" is invalid' });
  });
});

describe('mergeByDigest after a copy', () => {
  it('keeps a copy that shares its source digest', () => {
    const entry = (name: string) => ({ name, model: name, modified_at: '2026-01-01T00:00:00Z', size: 1, digest: 'sha-1' });
    const merged = mergeByDigest([
      { nodeName: 'a', models: [entry('llama3.2:latest'), entry('llama3-backup:latest')] },
      { nodeName: 'b', models: [entry('llama3.2:latest')] },
    ]);
    expect(merged.map((m) => m.name)).toEqual(['llama3.2:latest', 'llama3-backup:latest']);
    expect(merged[0].synaptic_nodes).toEqual(['a', 'b']);
  });
});

describe('describeRequestError', () => {
  it('names the socket failure and its code', () => {
    const error = new TypeError('terminated', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    expect(describeRequestError(error)).toBe('other side closed (UND_ERR_SOCKET)');
  });

  it('keeps a message that already contains the code', () => {
    const error = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    expect(describeRequestError(error)).toBe('connect ECONNREFUSED 127.0.0.1:9');
  });

  it('gives the time limit of a timeout', () => {
    const error = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(describeRequestError(error, 60_000)).toBe('timed out after 60000 ms');
  });
});
