import { useId, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { AgentMode } from '../../../shared/types';
import { useApp } from '../store/context';
import { AgentStepCard } from './AgentStepCard';
import { ConversationList } from './ConversationList';

export function ChatView() {
  const conversation = useApp((state) => state.activeConversation);
  const models = useApp((state) => state.models);
  const model = useApp((state) => state.model);
  const mode = useApp((state) => state.mode);
  const sending = useApp((state) => state.sending);
  const chatError = useApp((state) => state.chatError);
  const setModel = useApp((state) => state.setModel);
  const setMode = useApp((state) => state.setMode);
  const send = useApp((state) => state.send);
  const [question, setQuestion] = useState('');
  const modelId = useId();
  const modeId = useId();
  const questionId = useId();

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (sending) return;
    const text = question;
    setQuestion('');
    void send(text).then(() => undefined);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) submit();
  };

  return (
    <section className="chat" aria-labelledby="chat-heading" data-testid="chat-view">
      <ConversationList />
      <div className="chat-main">
        <h2 id="chat-heading">{conversation?.title || 'New conversation'}</h2>
        <div className="turns" aria-busy={sending}>
          {conversation?.turns.map((turn, index) => (
            <div className="turn" data-testid="chat-turn" key={turn.id || `draft-${index}`}>
              <p className="question" data-testid="chat-question">
                <strong>You:</strong> {turn.question}
                <span className="muted">
                  {' '}
                  · {turn.model} · {turn.mode}
                </span>
              </p>
              {turn.steps.map((step) => (
                <AgentStepCard key={step.id} step={step} />
              ))}
              {turn.answer && (
                <div className="card answer" data-testid="chat-answer">
                  <strong>Answer</strong>
                  <pre>{turn.answer}</pre>
                </div>
              )}
            </div>
          ))}
        </div>
        {chatError && (
          <p className="error" role="alert" data-testid="chat-error">
            {chatError}
          </p>
        )}
        <form className="composer" onSubmit={submit}>
          <div className="composer-options">
            <div className="field">
              <label htmlFor={modelId}>Model</label>
              <select
                id={modelId}
                data-testid="chat-model-select"
                value={model}
                onChange={(event) => setModel(event.target.value)}
              >
                {models.length === 0 && <option value="">No models available</option>}
                {models.map((entry) => (
                  <option key={entry.name} value={entry.name}>
                    {entry.name} ({entry.nodes.length} node{entry.nodes.length === 1 ? '' : 's'})
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor={modeId}>Mode</label>
              <select
                id={modeId}
                data-testid="chat-mode-select"
                value={mode}
                onChange={(event) => setMode(event.target.value as AgentMode)}
              >
                <option value="pipeline">Pipeline (researcher → critic → editor)</option>
                <option value="parallel">Parallel</option>
              </select>
            </div>
          </div>
          <div className="field">
            <label htmlFor={questionId}>Question</label>
            <textarea
              id={questionId}
              data-testid="chat-input"
              value={question}
              rows={3}
              onChange={(event) => setQuestion(event.target.value)}
              onKeyDown={onKeyDown}
              placeholder="Ask the agents… (Ctrl+Enter sends)"
            />
          </div>
          <div className="actions">
            <button type="submit" className="primary" data-testid="chat-send" disabled={sending || !question.trim()}>
              {sending ? 'Running…' : 'Send'}
            </button>
          </div>
        </form>
      </div>
    </section>
  );
}
