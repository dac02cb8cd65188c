import { useEffect, useRef } from 'react';
import type { NodeView } from '../../../../shared/types';
import { formatBytes, formatMs, formatTime } from '../../lib/format';
import { useApp } from '../../store/context';
import { PlacementBar } from '../PlacementBar';

const RECENT = 8;

/** Side panel for one node: models and placement, learned statistics, problems, decisions, log. */
export function NodeDetails({ node, onClose }: { node: NodeView; onClose: () => void }) {
  const figures = useApp((state) => state.figures?.nodes.find((entry) => entry.nodeId === node.id));
  const breaker = useApp((state) => state.breakers[node.id]);
  const allDecisions = useApp((state) => state.decisions);
  const allLogLines = useApp((state) => state.logLines);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => heading.current?.focus(), [node.id]);

  const decisions = allDecisions.filter((d) => d.nodeId === node.id).slice(0, RECENT);
  const logLines = allLogLines.filter((line) => line.msg.includes(node.name) || line.msg.includes(node.id)).slice(-RECENT);

  return (
    <aside className="card node-details" data-testid="node-details" aria-labelledby="node-details-heading">
      <div className="section-header">
        <h3 id="node-details-heading" ref={heading} tabIndex={-1}>
          {node.name} <span className={`health health-${node.health}`}>{node.health}</span>
        </h3>
        <button type="button" onClick={onClose} data-testid="node-details-close">
          Close
        </button>
      </div>
      <p className="muted">
        {node.kind} at {node.url}
        {node.gpuVramBytes ? ` · GPU ${formatBytes(node.gpuVramBytes)}` : ''}
      </p>

      <h4>Models</h4>
      {node.loaded.length === 0 ? <p className="muted">No model loaded.</p> : node.loaded.map((model) => <PlacementBar key={model.name} model={model} />)}
      <p className="muted" data-testid="node-details-models">
        Stored: {node.models.length === 0 ? 'none' : node.models.map((model) => model.name).join(', ')}
      </p>

      <h4>Learned statistics</h4>
      <dl className="facts" data-testid="node-details-stats">
        <dt>Requests</dt>
        <dd>{figures?.requests ?? 0}</dd>
        <dt>Errors</dt>
        <dd>{figures?.errors ?? 0}</dd>
        <dt>Latency p50 / p95</dt>
        <dd>
          {formatMs(figures?.p50LatencyMs)} / {formatMs(figures?.p95LatencyMs)}
        </dd>
        <dt>Latency (moving average)</dt>
        <dd>{formatMs(node.ewmaLatencyMs)}</dd>
        <dt>In flight</dt>
        <dd>{node.inFlight}</dd>
        <dt>Breaker</dt>
        <dd>{breaker ? `${breaker.state} (${breaker.reason})` : 'closed'}</dd>
      </dl>

      <h4>Problems</h4>
      {node.problems.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul data-testid="node-details-problems">
          {node.problems.map((problem) => (
            <li key={`${problem.kind}-${problem.since}`}>
              <strong>{problem.kind}</strong>: {problem.message} <span className="muted">since {formatTime(problem.since)}</span>
            </li>
          ))}
        </ul>
      )}
      {node.lastError && <p className="error">Last error: {node.lastError}</p>}

      <h4>Recent decisions</h4>
      {decisions.length === 0 ? (
        <p className="muted">No requests routed here yet.</p>
      ) : (
        <ul className="compact-list" data-testid="node-details-decisions">
          {decisions.map((d) => (
            <li key={d.id}>
              {formatTime(d.at)} {d.endpoint} {d.model}: {d.outcome ?? 'in flight'} {formatMs(d.latencyMs)}
            </li>
          ))}
        </ul>
      )}

      <h4>Recent log lines</h4>
      {logLines.length === 0 ? (
        <p className="muted">No log lines mention this node.</p>
      ) : (
        <ul className="compact-list log-lines" data-testid="node-details-log">
          {logLines.map((line, i) => (
            <li key={`${line.time}-${i}`}>
              {new Date(line.time).toLocaleTimeString()} [{line.level}] {line.component}: {line.msg}
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}
