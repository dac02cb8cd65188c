import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiRegistry } from '../../electron/control/core/api-registry';
import { EventBus } from '../../electron/control/core/event-bus';
import { createSilentLogger } from '../../electron/control/core/logger';
import type { RequestResult, RouteOutcome, RouteRequest, RouterPort } from '../../electron/control/router/port';
import { createAgentService, registerAgentApi, type AgentService } from '../../electron/control/agents';
import type { AgentProgress, Conversation, RouteDecision } from '../../shared/types';

/**
 * A loopback server speaking Ollama's streaming /api/chat, scripted per request. It produces
 * replies the tiny real models cannot produce on demand: invalid JSON twice, a death mid-stream,
 * an error line, bytes that are not UTF-8.
 */
type Behaviour =
  | { kind: 'reply'; text: string }
  | { kind: 'status'; code: number; error: string }
  | { kind: 'die'; text: string }
  | { kind: 'errorLine'; text: string; error: string }
  | { kind: 'bytes'; bytes: Buffer }
  | { kind: 'hang' }
  | { kind: 'stall'; text: string }
  | { kind: 'endlessLine'; bytes: number }
  | { kind: 'noDone'; text: string };

type ChatBody = { model: string; messages: { role: string; content: string }[]; format: unknown; options: unknown; stream: boolean };
type Seen = { node: string; agent: string; body: ChatBody };
type Script = (request: { node: string; agent: string; attempt: number; body: ChatBody }) => Behaviour;

class ScriptedNode {
  server!: Server;
  url = '';
  readonly sockets = new Set<import('node:net').Socket>();

  constructor(
    readonly name: string,
    private readonly harness: Harness,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatBody;
    const agent = /You are the (\w+)/.exec(body.messages[0]?.content ?? '')?.[1] ?? 'unknown';
    const attempt = this.harness.seen.filter((seen) => seen.agent === agent).length + 1;
    this.harness.seen.push({ node: this.name, agent, body });
    const behaviour = this.harness.script({ node: this.name, agent, attempt, body });

    if (behaviour.kind === 'status') {
      res.writeHead(behaviour.code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: behaviour.error }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    if (behaviour.kind === 'hang') return;
    if (behaviour.kind === 'endlessLine') {
      res.end('{"message":{"content":"' + 'x'.repeat(behaviour.bytes));
      return;
    }
    if (behaviour.kind === 'bytes') {
      const head = Buffer.from(`{"model":"${body.model}","message":{"role":"assistant","content":"`);
      const tail = Buffer.from('"},"done":false}\n');
      res.write(Buffer.concat([head, behaviour.bytes, tail]));
      res.end(doneLine(body.model, 3));
      return;
    }
    const pieces = splitText(behaviour.text);
    for (const piece of pieces) {
      res.write(JSON.stringify({ model: body.model, message: { role: 'assistant', content: piece }, done: false }) + '\n');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    if (behaviour.kind === 'stall') return;
    if (behaviour.kind === 'die') {
      res.socket?.destroy();
      return;
    }
    if (behaviour.kind === 'errorLine') {
      res.end(JSON.stringify({ error: behaviour.error }) + '\n');
      return;
    }
    if (behaviour.kind === 'noDone') {
      res.end();
      return;
    }
    res.end(doneLine(body.model, pieces.length));
  }
}

function doneLine(model: string, evalCount: number): string {
  return (
    JSON.stringify({
      model,
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: 'stop',
      prompt_eval_count: 17,
      eval_count: evalCount,
      eval_duration: 1_000_000,
    }) + '\n'
  );
}

function splitText(text: string): string[] {
  const pieces: string[] = [];
  for (let index = 0; index < text.length; index += 8) pieces.push(text.slice(index, index + 8));
  return pieces;
}

/** A RouterPort over fixed nodes that serve every model except `missing-model`. */
class ListRouter implements RouterPort {
  readonly requests: RouteRequest[] = [];
  readonly finished: { nodeId: string; result: RequestResult }[] = [];
  leases = 0;

  constructor(private readonly nodes: () => ScriptedNode[]) {}

  route(request: RouteRequest): RouteOutcome {
    this.requests.push(request);
    if (request.model === 'missing-model') {
      return { kind: 'not_found', message: `model '${request.model}' not found on any node` };
    }
    const node = this.nodes().find((candidate) => !(request.exclude ?? []).includes(candidate.name));
    if (!node) return { kind: 'unavailable', message: 'every node holding the model was excluded' };
    this.leases += 1;
    const decision: RouteDecision = {
      id: String(this.leases),
      at: new Date().toISOString(),
      endpoint: 'chat',
      model: request.model,
      nodeId: node.name,
      nodeName: node.name,
      strategy: 'first',
      reason: 'first node not excluded',
      factors: {},
      alternatives: [],
      attempt: request.attempt ?? 1,
    };
    let done = false;
    return {
      kind: 'routed',
      lease: {
        node: { id: node.name, name: node.name, url: node.url },
        decision,
        finish: (result) => {
          if (done) throw new Error(`lease on ${node.name} finished twice`);
          done = true;
          this.finished.push({ nodeId: node.name, result });
        },
      },
    };
  }
}

class Harness {
  seen: Seen[] = [];
  script: Script = () => ({ kind: 'reply', text: '{}' });
}

const harness = new Harness();
const nodeA = new ScriptedNode('node-a', harness);
const nodeB = new ScriptedNode('node-b', harness);
let activeNodes: ScriptedNode[] = [];
const router = new ListRouter(() => activeNodes);
const bus = new EventBus();
const events: AgentProgress[] = [];
bus.on('agent:progress', (progress) => events.push(progress));
let dataDir = '';
let service: AgentService;
const openServices: AgentService[] = [];

const validReplies: Record<string, string> = {
  researcher: JSON.stringify({ facts: ['water boils at 100 C at sea level'], context: 'physics' }),
  critic: JSON.stringify({ problems: ['altitude is ignored'], recommendations: ['mention altitude'] }),
  editor: JSON.stringify({ answer: 'At sea level water boils at 100 C; lower at altitude.' }),
};

function makeService(overrides: Partial<Parameters<typeof createAgentService>[0]> = {}): AgentService {
  const created = createAgentService({
    router,
    bus,
    dataDir,
    log: createSilentLogger(),
    progressIntervalMs: 0,
    saveIntervalMs: 20,
    ...overrides,
  });
  openServices.push(created);
  return created;
}

beforeAll(async () => {
  await nodeA.start();
  await nodeB.start();
  dataDir = await mkdtemp(join(tmpdir(), 'agents-faults-'));
});

afterEach(() => {
  harness.seen = [];
  events.length = 0;
});

afterAll(async () => {
  for (const open of openServices) await open.close();
  await nodeA.close();
  await nodeB.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('agent turn against scripted nodes', () => {
  beforeAll(() => {
    activeNodes = [nodeA, nodeB];
    service = makeService();
  });

  it('pipeline parses valid JSON from every agent', async () => {
    harness.script = ({ agent }) => ({ kind: 'reply', text: validReplies[agent] });
    const result = await service.send({ question: 'When does water boil?', model: 'm', mode: 'pipeline' });

    expect(result.answer).toBe('At sea level water boils at 100 C; lower at altitude.');
    const conversation = await service.get(result.conversationId);
    const steps = conversation.turns[0].steps;
    expect(steps.map((step) => step.agent)).toEqual(['researcher', 'critic', 'editor']);
    for (const step of steps) {
      expect(step.status).toBe('done');
      expect(step.raw).toBe(false);
      expect(step.retried).toBe(false);
      expect(step.nodeName).toBe('node-a');
      expect(step.promptTokens).toBe(17);
      expect(step.completionTokens).toBeGreaterThan(0);
      expect(step.latencyMs).toBeGreaterThanOrEqual(0);
    }
    expect(steps[0].output).toEqual(JSON.parse(validReplies.researcher));
    expect(conversation.turns[0].status).toBe('done');
  });

  it('pipeline passes research to critic and both to editor', async () => {
    harness.script = ({ agent }) => ({ kind: 'reply', text: validReplies[agent] });
    await service.send({ question: 'When does water boil?', model: 'm', mode: 'pipeline' });

    const critic = harness.seen.find((seen) => seen.agent === 'critic');
    const editor = harness.seen.find((seen) => seen.agent === 'editor');
    expect(critic?.body.messages.at(-1)?.content).toContain('water boils at 100 C at sea level');
    expect(editor?.body.messages.at(-1)?.content).toContain('water boils at 100 C at sea level');
    expect(editor?.body.messages.at(-1)?.content).toContain('mention altitude');
    expect(critic?.body.format).toMatchObject({ required: ['problems', 'recommendations'] });
    expect(critic?.body.stream).toBe(true);
  });

  it('progress events stream deltas with node and tokens', async () => {
    harness.script = ({ agent }) => ({ kind: 'reply', text: validReplies[agent] });
    const result = await service.send({ question: 'When does water boil?', model: 'm', mode: 'pipeline' });

    const mine = events.filter((event) => event.turnId === result.turnId);
    const deltas = mine.filter((event) => event.delta !== undefined);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.every((event) => event.step.nodeName === 'node-a')).toBe(true);
    const editorText = deltas
      .filter((event) => event.step.agent === 'editor')
      .map((event) => event.delta)
      .join('');
    expect(editorText).toBe(validReplies.editor);
    const lastEditor = mine.filter((event) => event.step.agent === 'editor').at(-1);
    expect(lastEditor?.step.status).toBe('done');
    expect(lastEditor?.step.completionTokens).toBeGreaterThan(0);
  });

  it('invalid JSON is retried once with the parse error', async () => {
    harness.script = ({ agent, attempt }) =>
      agent === 'critic' && attempt === 1
        ? { kind: 'reply', text: '{"problems": [oops' }
        : { kind: 'reply', text: validReplies[agent] };
    const result = await service.send({ question: 'q', model: 'm', mode: 'pipeline' });

    const critic = (await service.get(result.conversationId)).turns[0].steps[1];
    expect(critic.retried).toBe(true);
    expect(critic.raw).toBe(false);
    expect(critic.output).toEqual(JSON.parse(validReplies.critic));
    const retry = harness.seen.filter((seen) => seen.agent === 'critic')[1];
    expect(retry.body.messages.at(-2)).toEqual({ role: 'assistant', content: '{"problems": [oops' });
    expect(retry.body.messages.at(-1)?.content).toContain('not valid JSON');
    expect(critic.promptTokens).toBe(34);
  });

  it('schema mismatch is retried with the failing path', async () => {
    harness.script = ({ agent, attempt }) =>
      agent === 'editor' && attempt === 1
        ? { kind: 'reply', text: '{"answer": 42}' }
        : { kind: 'reply', text: validReplies[agent] };
    await service.send({ question: 'q', model: 'm', mode: 'pipeline' });

    const retry = harness.seen.filter((seen) => seen.agent === 'editor')[1];
    expect(retry.body.messages.at(-1)?.content).toContain('$.answer should be string, got number');
  });

  it('invalid JSON twice keeps the raw text', async () => {
    harness.script = ({ agent }) =>
      agent === 'editor' ? { kind: 'reply', text: 'plain words, no JSON' } : { kind: 'reply', text: validReplies[agent] };
    const result = await service.send({ question: 'q', model: 'm', mode: 'pipeline' });

    const editor = (await service.get(result.conversationId)).turns[0].steps[2];
    expect(editor.status).toBe('done');
    expect(editor.raw).toBe(true);
    expect(editor.retried).toBe(true);
    expect(editor.output).toBeUndefined();
    expect(editor.text).toBe('plain words, no JSON');
    expect(result.answer).toBe('plain words, no JSON');
    expect(harness.seen.filter((seen) => seen.agent === 'editor')).toHaveLength(2);
  });

  it('node failing before first chunk is retried elsewhere', async () => {
    harness.script = ({ node, agent }) =>
      node === 'node-a' && agent === 'researcher'
        ? { kind: 'status', code: 503, error: 'server busy, please try again.  maximum pending requests exceeded' }
        : { kind: 'reply', text: validReplies[agent] };
    const result = await service.send({ question: 'q', model: 'm', mode: 'pipeline' });

    const researcher = (await service.get(result.conversationId)).turns[0].steps[0];
    expect(researcher.status).toBe('done');
    expect(researcher.nodeName).toBe('node-b');
    const failedOnA = router.finished.filter((entry) => entry.nodeId === 'node-a' && !entry.result.ok).at(-1);
    expect(failedOnA?.result.error).toContain('503');
  });

  it('unreachable node is retried elsewhere', async () => {
    const dead = new ScriptedNode('node-dead', harness);
    await dead.start();
    await dead.close();
    activeNodes = [dead, nodeB];
    try {
      harness.script = ({ agent }) => ({ kind: 'reply', text: validReplies[agent] });
      const result = await service.send({ question: 'q', model: 'm', mode: 'pipeline' });
      const steps = (await service.get(result.conversationId)).turns[0].steps;
      expect(steps.map((step) => step.nodeName)).toEqual(['node-b', 'node-b', 'node-b']);
      expect(steps.every((step) => step.status === 'done')).toBe(true);
    } finally {
      activeNodes = [nodeA, nodeB];
    }
  });

  it('node dying mid-stream marks the step error', async () => {
    harness.script = ({ agent }) =>
      agent === 'researcher' ? { kind: 'die', text: '{"facts": ["half a' } : { kind: 'reply', text: validReplies[agent] };
    const result = await service.send({ question: 'q', model: 'm', mode: 'pipeline' });

    const [researcher, critic, editor] = (await service.get(result.conversationId)).turns[0].steps;
    expect(researcher.status).toBe('error');
    expect(researcher.error).toContain('node-a failed mid-stream');
    expect(researcher.text).toBe('{"facts": ["half a');
    expect(harness.seen.filter((seen) => seen.agent === 'researcher')).toHaveLength(1);
    expect(critic.status).toBe('done');
    expect(editor.status).toBe('done');
    expect(harness.seen.find((seen) => seen.agent === 'critic')?.body.messages.at(-1)?.content).toContain(
      'the researcher step failed',
    );
  });

  it('error line mid-stream marks the step error', async () => {
    harness.script = ({ agent }) =>
      agent === 'critic'
        ? { kind: 'errorLine', text: '{"problems"', error: 'llama runner process has terminated' }
        : { kind: 'reply', text: validReplies[agent] };
    const result = await service.send({ question: 'q', model: 'm', mode: 'pipeline' });

    const critic = (await service.get(result.conversationId)).turns[0].steps[1];
    expect(critic.status).toBe('error');
    expect(critic.error).toContain('llama runner process has terminated');
  });

  it('stream without done marks the step error', async () => {
    harness.script = ({ agent }) =>
      agent === 'researcher' ? { kind: 'noDone', text: '{"facts": []' } : { kind: 'reply', text: validReplies[agent] };
    const result = await service.send({ question: 'q', model: 'm', mode: 'pipeline' });

    const researcher = (await service.get(result.conversationId)).turns[0].steps[0];
    expect(researcher.status).toBe('error');
    expect(researcher.error).toContain('Did not receive done');
  });

  it('invalid UTF-8 and gibberish end as raw text', async () => {
    harness.script = ({ agent }) =>
      agent === 'researcher'
        ? { kind: 'bytes', bytes: Buffer.from([0x61, 0xff, 0xfe, 0xc3, 0x28, 0x62]) }
        : { kind: 'reply', text: validReplies[agent] };
    const result = await service.send({ question: 'q', model: 'm', mode: 'pipeline' });

    const researcher = (await service.get(result.conversationId)).turns[0].steps[0];
    expect(researcher.status).toBe('done');
    expect(researcher.raw).toBe(true);
    expect(researcher.text).toContain('\uFFFD');
  });

  it('empty replies twice mark the step error', async () => {
    harness.script = ({ agent }) => (agent === 'critic' ? { kind: 'reply', text: '' } : { kind: 'reply', text: validReplies[agent] });
    const result = await service.send({ question: 'q', model: 'm', mode: 'pipeline' });

    const critic = (await service.get(result.conversationId)).turns[0].steps[1];
    expect(critic.status).toBe('error');
    expect(critic.error).toBe('m returned an empty reply twice');
    expect(result.answer).not.toBeNull();
  });

  it('every claimed lease is finished exactly once', async () => {
    harness.script = ({ agent, attempt }) =>
      attempt === 1 ? { kind: 'status', code: 500, error: 'boom' } : { kind: 'reply', text: validReplies[agent] };
    const leasesBefore = router.leases;
    const finishedBefore = router.finished.length;
    await service.send({ question: 'q', model: 'm', mode: 'parallel' });

    expect(router.leases - leasesBefore).toBeGreaterThan(3);
    expect(router.finished.length - finishedBefore).toBe(router.leases - leasesBefore);
  });
});

describe('agent turn limits', () => {
  it('huge reply is cut off with an error', async () => {
    activeNodes = [nodeA];
    const limited = makeService({ limits: { maxReplyChars: 1_000 } });
    harness.script = ({ agent }) =>
      agent === 'researcher' ? { kind: 'reply', text: 'x'.repeat(5_000) } : { kind: 'reply', text: validReplies[agent] };
    const result = await limited.send({ question: 'q', model: 'm', mode: 'pipeline' });

    const researcher = (await limited.get(result.conversationId)).turns[0].steps[0];
    expect(researcher.status).toBe('error');
    expect(researcher.error).toContain('exceeded 1000 characters');
    expect(researcher.text.length).toBeLessThanOrEqual(1_000);
  });

  it('line without end hits the body limit', async () => {
    activeNodes = [nodeA];
    const limited = makeService({ limits: { maxResponseBytes: 10_000 } });
    harness.script = ({ agent }) =>
      agent === 'researcher' ? { kind: 'endlessLine', bytes: 100_000 } : { kind: 'reply', text: validReplies[agent] };
    const result = await limited.send({ question: 'q', model: 'm', mode: 'pipeline' });

    const researcher = (await limited.get(result.conversationId)).turns[0].steps[0];
    expect(researcher.status).toBe('error');
    expect(researcher.error).toContain('exceeded 10000 bytes');
  });

  it('stalled stream times out', async () => {
    activeNodes = [nodeA];
    const limited = makeService({ limits: { firstChunkTimeoutMs: 300 } });
    harness.script = ({ agent }) => (agent === 'editor' ? { kind: 'hang' } : { kind: 'reply', text: validReplies[agent] });
    const result = await limited.send({ question: 'q', model: 'm', mode: 'pipeline' });

    const editor = (await limited.get(result.conversationId)).turns[0].steps[2];
    expect(editor.status).toBe('error');
    expect(editor.error).toContain('within 300 ms');
    expect(result.answer).toBeNull();
    expect((await limited.get(result.conversationId)).turns[0].status).toBe('error');
  });

  it('running turn is saved while streaming', async () => {
    activeNodes = [nodeA];
    const dir = await mkdtemp(join(tmpdir(), 'agents-saving-'));
    try {
      const limited = makeService({ dataDir: dir, limits: { idleTimeoutMs: 3_000 } });
      harness.script = ({ agent }) =>
        agent === 'critic' ? { kind: 'stall', text: '{"problems": ["partial critique' } : { kind: 'reply', text: validReplies[agent] };
      const sending = limited.send({ question: 'q', model: 'm', mode: 'pipeline' });
      let saved: Conversation | undefined;
      for (let poll = 0; poll < 100 && saved?.turns[0].steps[1].text !== '{"problems": ["partial critique'; poll += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const names = await readdir(join(dir, 'conversations')).catch(() => []);
        if (names.length === 1) saved = JSON.parse(await readFile(join(dir, 'conversations', names[0]), 'utf8'));
      }
      expect(saved?.turns[0].status).toBe('running');
      expect(saved?.turns[0].steps[0].status).toBe('done');
      expect(saved?.turns[0].steps[1].status).toBe('running');
      expect(saved?.turns[0].steps[1].text).toBe('{"problems": ["partial critique');

      const result = await sending;
      const critic = (await limited.get(result.conversationId)).turns[0].steps[1];
      expect(critic.status).toBe('error');
      expect(critic.error).toContain('stalled for 3000 ms');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejected request is not retried elsewhere', async () => {
    activeNodes = [nodeA, nodeB];
    const strict = makeService();
    harness.script = ({ agent }) =>
      agent === 'researcher'
        ? { kind: 'status', code: 400, error: 'invalid JSON schema in format' }
        : { kind: 'reply', text: validReplies[agent] };
    const result = await strict.send({ question: 'q', model: 'm', mode: 'pipeline' });

    const researcher = (await strict.get(result.conversationId)).turns[0].steps[0];
    expect(researcher.status).toBe('error');
    expect(researcher.error).toBe('node-a rejected the request: http://127.0.0.1:' + nodeA.url.split(':')[2] + ' answered HTTP 400: invalid JSON schema in format');
    expect(harness.seen.filter((seen) => seen.agent === 'researcher')).toHaveLength(1);
  });

  it('parallel mode puts researcher and critic on different nodes', async () => {
    activeNodes = [nodeA, nodeB];
    const parallel = makeService();
    harness.script = ({ agent }) => ({ kind: 'reply', text: validReplies[agent] });
    const result = await parallel.send({ question: 'q', model: 'm', mode: 'parallel' });

    const [researcher, critic, editor] = (await parallel.get(result.conversationId)).turns[0].steps;
    expect(researcher.nodeName).toBe('node-a');
    expect(critic.nodeName).toBe('node-b');
    expect(editor.status).toBe('done');
    expect(harness.seen.find((seen) => seen.agent === 'critic')?.body.messages.at(-1)?.content).not.toContain(
      'Research notes',
    );
  });

  it('parallel mode shares the only node', async () => {
    activeNodes = [nodeA];
    const parallel = makeService();
    harness.script = ({ agent }) => ({ kind: 'reply', text: validReplies[agent] });
    const result = await parallel.send({ question: 'q', model: 'm', mode: 'parallel' });

    const steps = (await parallel.get(result.conversationId)).turns[0].steps;
    expect(steps.map((step) => step.nodeName)).toEqual(['node-a', 'node-a', 'node-a']);
    expect(steps.every((step) => step.status === 'done')).toBe(true);
  });
});

describe('agent turn cancellation', () => {
  it('chat:delete during a turn cancels it and keeps the file deleted', async () => {
    activeNodes = [nodeA];
    const dir = await mkdtemp(join(tmpdir(), 'agents-cancel-'));
    try {
      const cancellable = makeService({ dataDir: dir });
      harness.script = ({ agent }) => (agent === 'critic' ? { kind: 'hang' } : { kind: 'reply', text: validReplies[agent] });
      const sending = cancellable.send({ question: 'q', model: 'm', mode: 'pipeline' });
      while (!harness.seen.some((seen) => seen.agent === 'critic')) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const [conversation] = await cancellable.list();
      expect(conversation.turns[0].status).toBe('running');

      expect(await cancellable.delete(conversation.id)).toEqual({ deleted: true });
      const result = await sending;
      expect(result.answer).toBeNull();
      await cancellable.close();
      expect(await readdir(join(dir, 'conversations'))).toEqual([]);
      expect(router.finished.length).toBe(router.leases);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('second turn on a busy conversation is a conflict', async () => {
    activeNodes = [nodeA];
    const dir = await mkdtemp(join(tmpdir(), 'agents-conflict-'));
    try {
      const busy = makeService({ dataDir: dir });
      const api = new ApiRegistry(createSilentLogger());
      registerAgentApi(api, busy);
      harness.script = ({ agent }) => (agent === 'researcher' ? { kind: 'hang' } : { kind: 'reply', text: validReplies[agent] });
      const sending = busy.send({ question: 'q', model: 'm', mode: 'pipeline' });
      while (!harness.seen.some((seen) => seen.agent === 'researcher')) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const [conversation] = await busy.list();

      const second = await api.invoke('chat:send', { question: 'again', model: 'm', conversationId: conversation.id });
      expect(second).toEqual({
        ok: false,
        error: { code: 'conflict', message: `conversation '${conversation.id}' already has a turn running` },
      });
      await busy.close();
      await sending;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a turn running at shutdown is marked interrupted on reload', async () => {
    activeNodes = [nodeA];
    const dir = await mkdtemp(join(tmpdir(), 'agents-restart-'));
    try {
      const first = makeService({ dataDir: dir });
      harness.script = ({ agent }) => (agent === 'researcher' ? { kind: 'hang' } : { kind: 'reply', text: validReplies[agent] });
      const sending = first.send({ question: 'q', model: 'm', mode: 'pipeline' });
      while (!harness.seen.some((seen) => seen.agent === 'researcher')) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const [running] = await first.list();
      const file = join(dir, 'conversations', `${running.id}.json`);
      const snapshot = await readFile(file, 'utf8');
      expect(JSON.parse(snapshot).turns[0].status).toBe('running');
      await first.close();
      await sending;
      await writeFile(file, snapshot);

      const second = makeService({ dataDir: dir });
      const restored = await second.get(running.id);
      // The reload saves the repaired turn in the background, so it must finish before clean-up.
      await second.close();
      expect(restored.turns[0].status).toBe('error');
      expect(restored.turns[0].steps[0].error).toContain('interrupted');
    } finally {
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    }
  });
});

describe('agent API channels', () => {
  let api: ApiRegistry;

  beforeAll(() => {
    activeNodes = [nodeA, nodeB];
    api = new ApiRegistry(createSilentLogger());
    registerAgentApi(api, makeService());
  });

  it('chat:send without a serving node is unavailable', async () => {
    const result = await api.invoke('chat:send', { question: 'q', model: 'missing-model' });
    expect(result).toEqual({
      ok: false,
      error: { code: 'unavailable', message: "model 'missing-model' not found on any node" },
    });
  });

  it('chat:get with unknown id is not_found', async () => {
    const result = await api.invoke('chat:get', { id: 'no-such-conversation' });
    expect(result).toEqual({ ok: false, error: { code: 'not_found', message: "conversation 'no-such-conversation' not found" } });
  });

  it('chat:get rejects an id that is a path', async () => {
    const result = await api.invoke('chat:get', { id: '../agents' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('invalid_argument');
  });

  it('chat:send rejects an empty question', async () => {
    const result = await api.invoke('chat:send', { question: '   ', model: 'm' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain('question is required');
  });

  it('chat:send continues a conversation with its history', async () => {
    harness.script = ({ agent }) => ({ kind: 'reply', text: validReplies[agent] });
    const first = await api.invoke('chat:send', { question: 'first question', model: 'm' });
    if (!first.ok) throw new Error(first.error.message);
    const { conversationId } = first.value as { conversationId: string };
    harness.seen = [];
    const second = await api.invoke('chat:send', { question: 'second question', model: 'm', conversationId });
    expect(second.ok).toBe(true);

    const researcher = harness.seen.find((seen) => seen.agent === 'researcher');
    expect(researcher?.body.messages.map((message) => message.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(researcher?.body.messages[1].content).toBe('first question');
    const got = await api.invoke('chat:get', { id: conversationId });
    if (!got.ok) throw new Error(got.error.message);
    expect((got.value as { turns: unknown[] }).turns).toHaveLength(2);
  });

  it('chat:delete removes the conversation and its file', async () => {
    harness.script = ({ agent }) => ({ kind: 'reply', text: validReplies[agent] });
    const sent = await api.invoke('chat:send', { question: 'to delete', model: 'm' });
    if (!sent.ok) throw new Error(sent.error.message);
    const { conversationId } = sent.value as { conversationId: string };

    expect(await api.invoke('chat:delete', { id: conversationId })).toEqual({ ok: true, value: { deleted: true } });
    expect(await readdir(join(dataDir, 'conversations'))).not.toContain(`${conversationId}.json`);
    const again = await api.invoke('chat:delete', { id: conversationId });
    expect(again.ok).toBe(false);
  });

  it('agents:list returns the three default agents', async () => {
    const result = await api.invoke('agents:list', {});
    if (!result.ok) throw new Error(result.error.message);
    const agents = result.value as { role: string; schema: unknown }[];
    expect(agents.map((agent) => agent.role)).toEqual(['researcher', 'critic', 'editor']);
    expect(agents[2].schema).toMatchObject({ required: ['answer'] });
  });
});

describe('agent persistence', () => {
  it('conversations survive a new service on the same dataDir', async () => {
    activeNodes = [nodeA];
    const dir = await mkdtemp(join(tmpdir(), 'agents-persist-'));
    try {
      harness.script = ({ agent }) => ({ kind: 'reply', text: validReplies[agent] });
      const first = makeService({ dataDir: dir });
      const older = await first.send({ question: 'older', model: 'm', mode: 'pipeline' });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const newer = await first.send({ question: 'newer', model: 'm', mode: 'parallel' });
      await first.close();

      await writeFile(join(dir, 'conversations', 'broken.json'), '{"id": "broken", "turns": 3}');
      const second = makeService({ dataDir: dir });
      const listed = await second.list();
      expect(listed.map((conversation) => conversation.id)).toEqual([newer.conversationId, older.conversationId]);
      const restored = await second.get(newer.conversationId);
      expect(restored.turns[0].mode).toBe('parallel');
      expect(restored.turns[0].steps.map((step) => step.status)).toEqual(['done', 'done', 'done']);
      expect(restored.turns[0].answer).toBe(newer.answer);
      expect(await readFile(join(dir, 'conversations', 'broken.json'), 'utf8')).toContain('broken');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('invalid agents.json falls back to defaults and is kept', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agents-file-'));
    try {
      await writeFile(join(dir, 'agents.json'), '{"critic": {"temperature": 2}}');
      const agents = await makeService({ dataDir: dir }).agents();
      expect(agents[1].name).toBe('Critic');
      expect(await readFile(join(dir, 'agents.json'), 'utf8')).toContain('temperature');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('agents.json overrides prompt, model and options', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agents-file-'));
    activeNodes = [nodeA];
    try {
      await writeFile(
        join(dir, 'agents.json'),
        JSON.stringify({ editor: { systemPrompt: 'You are the editor. Be brief.', model: 'editor-model', options: { num_predict: 7 } } }),
      );
      const custom = makeService({ dataDir: dir });
      harness.script = ({ agent }) => ({ kind: 'reply', text: validReplies[agent] });
      const result = await custom.send({ question: 'q', model: 'm', mode: 'pipeline' });

      const editorCall = harness.seen.find((seen) => seen.agent === 'editor');
      expect(editorCall?.body.model).toBe('editor-model');
      expect(editorCall?.body.options).toMatchObject({ num_predict: 7, temperature: 0.5 });
      expect(editorCall?.body.messages[0].content).toBe('You are the editor. Be brief.');
      expect((await custom.get(result.conversationId)).turns[0].steps[2].model).toBe('editor-model');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
