// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentStep, Conversation, RouteDecision } from '../../shared/types';
import { FakePlane, ok } from './fake-plane';
import { renderApp } from './render-app';

function step(agent: string, overrides: Partial<AgentStep> = {}): AgentStep {
  return {
    id: `step-${agent}`,
    agent,
    status: 'running',
    model: 'tiny:latest',
    text: '',
    raw: false,
    retried: false,
    ...overrides,
  };
}

const AGENTS = ['researcher', 'critic', 'editor'];

/** The conversation as chat:get returns it once the turn has finished. */
function storedConversation(): Conversation {
  return {
    id: 'c1',
    title: 'Why is the sky blue?',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:05.000Z',
    turns: [
      {
        id: 't1',
        question: 'Why is the sky blue?',
        model: 'tiny:latest',
        mode: 'pipeline',
        startedAt: '2026-01-01T00:00:00.000Z',
        finishedAt: '2026-01-01T00:00:05.000Z',
        status: 'done',
        answer: 'Rayleigh scattering.',
        steps: AGENTS.map((agent) =>
          step(agent, { status: 'done', nodeName: 'alpha', latencyMs: 120, promptTokens: 10, completionTokens: 5, text: `${agent} done` }),
        ),
      },
    ],
  };
}

let plane: FakePlane;
let app: ReturnType<typeof renderApp>;
let conversations: Conversation[];

beforeEach(() => {
  conversations = [];
  plane = new FakePlane();
  plane.handle('nodes:list', () => ok([]));
  plane.handle('models:list', () => ok([{ name: 'tiny:latest', nodes: ['alpha'], loadedOn: [] }]));
  plane.handle('chat:list', () => ok(conversations));
  plane.handle('chat:get', (args) => {
    const found = conversations.find((conversation) => conversation.id === (args as { id: string }).id);
    return found ? ok(found) : { ok: false, error: { code: 'not_found', message: 'conversation not found' } };
  });
  plane.handle('router:decisions', () => ok([]));
  plane.handle('stats:figures', () => ok({ at: new Date().toISOString(), totalRequests: 0, nodes: [] }));
});

afterEach(() => {
  app?.unmount();
  cleanup();
});

describe('chat view', () => {
  it('streams agent steps and keeps the conversation', async () => {
    let finishSend: (value: unknown) => void = () => undefined;
    plane.handle('chat:send', () => new Promise((resolve) => (finishSend = resolve)) as never);
    app = renderApp(plane);
    fireEvent.click(screen.getByTestId('nav-chat'));

    const select = (await screen.findByLabelText('Model')) as HTMLSelectElement;
    await waitFor(() => expect(select.value).toBe('tiny:latest'));
    expect((screen.getByLabelText('Mode') as HTMLSelectElement).value).toBe('pipeline');
    fireEvent.change(screen.getByLabelText('Question'), { target: { value: 'Why is the sky blue?' } });
    fireEvent.click(screen.getByTestId('chat-send'));

    expect(screen.getByTestId('chat-question').textContent).toContain('Why is the sky blue?');
    await waitFor(() => expect(plane.callsTo('chat:send')).toHaveLength(1));
    expect(plane.callsTo('chat:send')[0]).toEqual({
      question: 'Why is the sky blue?',
      model: 'tiny:latest',
      mode: 'pipeline',
      conversationId: undefined,
    });

    act(() => {
      plane.emit('agent:progress', { conversationId: 'c1', turnId: 't1', step: step('researcher', { nodeName: 'alpha' }), delta: 'Light ' });
      plane.emit('agent:progress', { conversationId: 'c1', turnId: 't1', step: step('researcher', { nodeName: 'alpha' }), delta: 'scatters' });
    });
    const first = screen.getByTestId('agent-step');
    expect(within(first).getByTestId('agent-step-text').textContent).toBe('Light scatters');
    expect(within(first).getByTestId('agent-step-node').textContent).toBe('on alpha');

    act(() => {
      for (const agent of AGENTS) {
        plane.emit('agent:progress', {
          conversationId: 'c1',
          turnId: 't1',
          step: step(agent, { status: 'done', nodeName: 'alpha', latencyMs: 120, promptTokens: 10, completionTokens: 5, text: `${agent} done` }),
        });
      }
    });
    const steps = screen.getAllByTestId('agent-step');
    expect(steps.map((element) => element.getAttribute('data-agent'))).toEqual(AGENTS);
    expect(within(steps[2]).getByTestId('agent-step-latency').textContent).toBe('120 ms');
    expect(within(steps[2]).getByTestId('agent-step-tokens').textContent).toBe('10 in / 5 out tokens');

    conversations = [storedConversation()];
    await act(async () => finishSend(ok({ conversationId: 'c1', turnId: 't1', answer: 'Rayleigh scattering.' })));
    expect((await screen.findByTestId('chat-answer')).textContent).toContain('Rayleigh scattering.');
    expect((await screen.findByTestId('conversation-item')).textContent).toContain('Why is the sky blue?');
  });

  it('reopens a stored conversation after reload', async () => {
    conversations = [storedConversation()];
    app = renderApp(plane);
    fireEvent.click(screen.getByTestId('nav-chat'));
    fireEvent.click(await screen.findByTestId('conversation-item'));
    await waitFor(() => expect(screen.getAllByTestId('agent-step')).toHaveLength(3));
    expect(screen.getByTestId('chat-answer').textContent).toContain('Rayleigh scattering.');
    expect(screen.getByTestId('conversation-item').getAttribute('aria-current')).toBe('true');
  });

  it('shows a chat:send error', async () => {
    plane.handle('chat:send', () => ({ ok: false, error: { code: 'not_found', message: "model 'tiny:latest' not found" } }));
    app = renderApp(plane);
    fireEvent.click(screen.getByTestId('nav-chat'));
    const select = (await screen.findByLabelText('Model')) as HTMLSelectElement;
    await waitFor(() => expect(select.value).toBe('tiny:latest'));
    fireEvent.change(screen.getByLabelText('Question'), { target: { value: 'hello' } });
    fireEvent.click(screen.getByTestId('chat-send'));
    expect((await screen.findByTestId('chat-error')).textContent).toBe("model 'tiny:latest' not found");
  });

  it('ignores progress of other conversations', async () => {
    conversations = [storedConversation()];
    app = renderApp(plane);
    fireEvent.click(screen.getByTestId('nav-chat'));
    fireEvent.click(await screen.findByTestId('conversation-item'));
    await waitFor(() => expect(screen.getAllByTestId('agent-step')).toHaveLength(3));
    act(() => plane.emit('agent:progress', { conversationId: 'other', turnId: 'x', step: step('researcher') }));
    expect(screen.getAllByTestId('agent-step')).toHaveLength(3);
  });
});

describe('routing view and figures', () => {
  it('lists route decisions with reason and factors', async () => {
    const decision: RouteDecision = {
      id: 'd1',
      at: '2026-01-01T00:00:00.000Z',
      endpoint: 'chat',
      model: 'tiny:latest',
      nodeId: 'n1',
      nodeName: 'alpha',
      strategy: 'score',
      reason: 'model loaded, lowest latency',
      factors: { loaded: 1, latency: 0.25 },
      alternatives: [{ nodeId: 'n2', nodeName: 'beta', reason: 'model not loaded' }],
      attempt: 1,
      outcome: 'ok',
      latencyMs: 42,
    };
    app = renderApp(plane);
    fireEvent.click(screen.getByTestId('nav-routing'));
    expect(await screen.findByTestId('routing-empty')).toBeTruthy();
    act(() => plane.emit('route:decision', decision));
    const row = screen.getByTestId('route-row');
    expect(within(row).getByTestId('route-reason').textContent).toContain('model loaded, lowest latency');
    expect(within(row).getByTestId('route-reason').textContent).toContain('beta: model not loaded');
    expect(within(row).getByTestId('route-factors').textContent).toBe('loaded=1, latency=0.25');
  });

  it('shows request totals and p50 per node', async () => {
    app = renderApp(plane);
    act(() =>
      plane.emit('stats:figures', {
        at: '2026-01-01T00:00:00.000Z',
        totalRequests: 7,
        nodes: [{ nodeId: 'n1', nodeName: 'alpha', requests: 7, errors: 0, p50LatencyMs: 85, p95LatencyMs: 200, inFlight: 1 }],
      }),
    );
    expect(screen.getByTestId('figure-total-requests').textContent).toBe('7');
    expect(screen.getByTestId('figure-node').textContent).toContain('alpha p50');
    expect(screen.getByTestId('figure-node').textContent).toContain('85 ms');
  });
});
