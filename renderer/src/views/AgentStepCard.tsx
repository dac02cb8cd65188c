import type { AgentStep } from '../../../shared/types';
import { formatMs } from '../lib/format';

export function AgentStepCard({ step }: { step: AgentStep }) {
  const tokens =
    step.promptTokens !== undefined || step.completionTokens !== undefined
      ? `${step.promptTokens ?? '–'} in / ${step.completionTokens ?? '–'} out`
      : '–';
  return (
    <article className={`card step step-${step.status}`} data-testid="agent-step" data-agent={step.agent} data-status={step.status}>
      <header className="step-header">
        <strong>{step.agent}</strong>
        <span className="badge" data-testid="agent-step-status">
          {step.status}
        </span>
        <span data-testid="agent-step-node">on {step.nodeName ?? 'unassigned'}</span>
        <span data-testid="agent-step-latency">{formatMs(step.latencyMs)}</span>
        <span data-testid="agent-step-tokens">{tokens} tokens</span>
        {step.retried && <span className="badge">retried</span>}
        {step.raw && step.status === 'done' && <span className="badge">raw text</span>}
      </header>
      {step.error && (
        <p className="error" role="alert">
          {step.error}
        </p>
      )}
      <pre className="step-text" data-testid="agent-step-text">
        {step.text}
      </pre>
    </article>
  );
}
