import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentService, type AgentService } from '../../electron/control/agents';
import { EventBus } from '../../electron/control/core/event-bus';
import { createSilentLogger } from '../../electron/control/core/logger';
import { startEmbeddedNode, type EmbeddedNode } from '../../electron/control/embedded';
import type { NodeSnapshot } from '../../electron/control/nodes/registry';
import { Router } from '../../electron/control/router/router';
import type { AgentProgress, Conversation, RouteDecision } from '../../shared/types';

const modelsDir = resolve(__dirname, '../../../shared/models');
const model = 'llama-2-tiny-random';

let nodes: EmbeddedNode[] = [];
let router: Router;
let snapshots: NodeSnapshot[] = [];
const decisions = new Map<string, RouteDecision>();
let dataDir = '';
const bus = new EventBus();
const events: AgentProgress[] = [];
bus.on('agent:progress', (progress) => events.push(progress));
bus.on('route:decision', (decision) => decisions.set(decision.id, { ...decision }));
let service: AgentService;
let pipelineConversation: Conversation;
let parallelConversation: Conversation;

function expectFinishedSteps(conversation: Conversation): void {
  const steps = conversation.turns[0].steps;
  expect(steps.map((step) => step.agent)).toEqual(['researcher', 'critic', 'editor']);
  for (const step of steps) {
    expect(step.status, `${step.agent}: ${step.error}`).toBe('done');
    expect(step.nodeName).toMatch(/^embedded-[ab]$/);
    expect(step.promptTokens).toBeGreaterThan(0);
    expect(step.completionTokens).toBeGreaterThan(0);
    expect(step.latencyMs).toBeGreaterThan(0);
    expect(step.raw || step.output !== undefined).toBe(true);
  }
}

beforeAll(async () => {
  nodes = await Promise.all(
    [0, 1].map(() => startEmbeddedNode({ host: '127.0.0.1', port: 0, modelsDir, ollamaStoreDirs: false, threads: 1 })),
  );
  snapshots = nodes.map((node, index) => ({
    id: `node-${index}`,
    name: `embedded-${'ab'[index]}`,
    url: node.url,
    kind: 'embedded',
    health: 'up',
    models: [{ name: `${model}:latest`, digest: 'test', sizeBytes: 1 }],
    loaded: [],
  }));
  router = new Router({ nodes: () => snapshots, bus, log: createSilentLogger() });
  dataDir = await mkdtemp(join(tmpdir(), 'agents-embedded-'));
  // Short replies keep a turn of up to six generations quick on a shared CPU.
  const short = { options: { num_predict: 12, num_ctx: 1024 } };
  await writeFile(join(dataDir, 'agents.json'), JSON.stringify({ researcher: short, critic: short, editor: short }));
  service = createAgentService({ router, bus, dataDir, log: createSilentLogger() });
});

afterAll(async () => {
  await service?.close();
  await Promise.all(nodes.map((node) => node.close()));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('agents on real embedded nodes', () => {
  it('pipeline turn finishes with three steps', { timeout: 300_000 }, async () => {
    const result = await service.send({ question: 'Why is the sky blue?', model, mode: 'pipeline' });

    pipelineConversation = await service.get(result.conversationId);
    expectFinishedSteps(pipelineConversation);
    expect(pipelineConversation.turns[0].status).toBe('done');
    expect(result.answer).not.toBeNull();
    const mine = events.filter((event) => event.turnId === result.turnId);
    expect(mine.some((event) => (event.delta ?? '').length > 0)).toBe(true);
    expect(mine.every((event) => event.conversationId === result.conversationId)).toBe(true);
  });

  it('parallel turn spreads researcher and critic', { timeout: 300_000 }, async () => {
    const result = await service.send({ question: 'Why is the sky blue?', model, mode: 'parallel' });

    parallelConversation = await service.get(result.conversationId);
    expectFinishedSteps(parallelConversation);
    const [researcher, critic] = parallelConversation.turns[0].steps;
    expect(researcher.nodeId).not.toBe(critic.nodeId);
  });

  it('unreachable node falls over to a real one', { timeout: 300_000 }, async () => {
    const unreachable = createServer();
    await new Promise<void>((resolve) => unreachable.listen(0, '127.0.0.1', resolve));
    const port = (unreachable.address() as AddressInfo).port;
    await new Promise<void>((resolve) => unreachable.close(() => resolve()));
    const dead: NodeSnapshot = { ...snapshots[0], id: 'a-dead', name: 'dead', url: `http://127.0.0.1:${port}` };
    snapshots = [dead, ...snapshots];
    try {
      const result = await service.send({ question: 'Name a colour.', model, mode: 'pipeline' });
      const steps = (await service.get(result.conversationId)).turns[0].steps;
      expect(steps[0].status).toBe('done');
      expect(steps[0].nodeName).toMatch(/^embedded-[ab]$/);
      const failed = [...decisions.values()].filter((decision) => decision.nodeId === 'a-dead');
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((decision) => decision.outcome === 'error')).toBe(true);
      expect(failed[0].error).toContain('ECONNREFUSED');
    } finally {
      snapshots = snapshots.filter((snapshot) => snapshot.id !== 'a-dead');
      await service.delete((await service.list())[0].id);
    }
  });

  it('default agent options finish a turn', { timeout: 300_000 }, async () => {
    const defaultsDir = await mkdtemp(join(tmpdir(), 'agents-defaults-'));
    const defaults = createAgentService({ router, bus, dataDir: defaultsDir, log: createSilentLogger() });
    try {
      const result = await defaults.send({ question: 'Why is the sky blue?', model, mode: 'parallel' });
      const conversation = await defaults.get(result.conversationId);
      expectFinishedSteps(conversation);
      expect(result.answer).not.toBeNull();
    } finally {
      await defaults.close();
      await rm(defaultsDir, { recursive: true, force: true });
    }
  });

  it('every lease was finished', () => {
    for (const snapshot of snapshots) expect(router.traffic(snapshot.id).inFlight).toBe(0);
    const outcomes = [...decisions.values()]
      .filter((decision) => decision.nodeId !== 'a-dead')
      .map((decision) => decision.outcome);
    expect(outcomes.length).toBeGreaterThanOrEqual(6);
    expect(outcomes.every((outcome) => outcome === 'ok')).toBe(true);
  });

  it('conversations survive a new service', async () => {
    await service.close();
    expect((await readdir(join(dataDir, 'conversations'))).sort()).toEqual(
      [`${pipelineConversation.id}.json`, `${parallelConversation.id}.json`].sort(),
    );

    service = createAgentService({ router, bus, dataDir, log: createSilentLogger() });
    const listed = await service.list();
    expect(listed.map((conversation) => conversation.id)).toEqual([parallelConversation.id, pipelineConversation.id]);
    expect(await service.get(pipelineConversation.id)).toEqual(pipelineConversation);
    expect(await service.get(parallelConversation.id)).toEqual(parallelConversation);
  });
});
