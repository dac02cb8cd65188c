import { memo, useMemo, useState } from 'react';
import type { RouteDecision } from '../../../shared/types';
import { formatMs, formatTime } from '../lib/format';
import { useApp } from '../store/context';

const ALL = '';
/** Rows drawn at first and added per "Show more"; a long table costs layout on every new decision. */
const PAGE_ROWS = 50;

function formatFactors(factors: Record<string, number>): string {
  return Object.entries(factors)
    .map(([name, value]) => `${name}=${Number.isInteger(value) ? value : value.toFixed(2)}`)
    .join(', ');
}

function formatAlternative(alt: RouteDecision['alternatives'][number]): string {
  const score = alt.score === undefined ? '' : ` (score ${alt.score.toFixed(2)})`;
  return `${alt.nodeName}${score}: ${alt.reason}`;
}

/** Bars of each factor's share of the summed absolute factor values. */
function FactorBars({ factors }: { factors: Record<string, number> }) {
  const entries = Object.entries(factors);
  const total = entries.reduce((n, [, v]) => n + Math.abs(v), 0);
  if (entries.length === 0 || total === 0) return <span className="muted">–</span>;
  return (
    <span className="factor-bars" data-testid="route-contributions">
      {entries.map(([name, value]) => {
        const share = Math.round((Math.abs(value) / total) * 100);
        return (
          <span key={name} className="factor-bar" title={`${name}: ${share}% of the score`}>
            <span className="factor-name">{name}</span>
            <span className="factor-track" role="img" aria-label={`${name} ${share}%`}>
              <span className={value < 0 ? 'factor-fill factor-negative' : 'factor-fill'} style={{ width: `${share}%` }} />
            </span>
          </span>
        );
      })}
    </span>
  );
}

export function RoutingView() {
  const decisions = useApp((state) => state.decisions);
  const [model, setModel] = useState(ALL);
  const [node, setNode] = useState(ALL);
  const [limit, setLimit] = useState(PAGE_ROWS);

  const models = useMemo(() => [...new Set(decisions.map((d) => d.model))].sort(), [decisions]);
  const nodes = useMemo(() => {
    const byId = new Map<string, string>();
    for (const d of decisions) if (d.nodeId) byId.set(d.nodeId, d.nodeName ?? d.nodeId);
    return [...byId.entries()].sort((a, b) => a[1].localeCompare(b[1]));
  }, [decisions]);
  const shown = decisions.filter((d) => (model === ALL || d.model === model) && (node === ALL || d.nodeId === node));

  return (
    <section aria-labelledby="routing-heading" data-testid="routing-view">
      <div className="section-header">
        <h2 id="routing-heading">Routing decisions</h2>
        <div className="filters">
          <label className="field-inline">
            Model{' '}
            <select value={model} onChange={(event) => setModel(event.target.value)} data-testid="routing-filter-model">
              <option value={ALL}>All models</option>
              {models.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          <label className="field-inline">
            Node{' '}
            <select value={node} onChange={(event) => setNode(event.target.value)} data-testid="routing-filter-node">
              <option value={ALL}>All nodes</option>
              {nodes.map(([id, name]) => (
                <option key={id} value={id}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      {decisions.length === 0 ? (
        <p className="muted" data-testid="routing-empty">
          No requests routed yet.
        </p>
      ) : shown.length === 0 ? (
        <p className="muted" data-testid="routing-filtered-empty">
          No decision matches the filters.
        </p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Model</th>
                <th scope="col">Node</th>
                <th scope="col">Reason</th>
                <th scope="col">Factors</th>
                <th scope="col">Contributions</th>
                <th scope="col">Outcome</th>
                <th scope="col">Latency</th>
              </tr>
            </thead>
            <tbody>
              {shown.slice(0, limit).map((decision) => (
                <DecisionRow key={decision.id} decision={decision} />
              ))}
            </tbody>
          </table>
          {shown.length > limit && (
            <button type="button" data-testid="routing-more" onClick={() => setLimit(limit + PAGE_ROWS)}>
              Show {Math.min(PAGE_ROWS, shown.length - limit)} more of {shown.length - limit}
            </button>
          )}
        </div>
      )}
    </section>
  );
}

/** One decision; memoised because the table re-renders on every routed request. */
const DecisionRow = memo(function DecisionRow({ decision }: { decision: RouteDecision }) {
  return (
    <tr data-testid="route-row">
      <td>{formatTime(decision.at)}</td>
      <td>{decision.endpoint}</td>
      <td>{decision.model}</td>
      <td>{decision.nodeName ?? '—'}</td>
      <td data-testid="route-reason">
        {decision.reason}
        {decision.alternatives.length > 0 && (
          <span className="muted">
            {' '}
            (passed over: {decision.alternatives.map(formatAlternative).join('; ')})
          </span>
        )}
      </td>
      <td data-testid="route-factors">{formatFactors(decision.factors)}</td>
      <td>
        <FactorBars factors={decision.factors} />
      </td>
      <td data-testid="route-outcome" className={decision.outcome && decision.outcome !== 'ok' ? 'error' : undefined}>
        {decision.outcome ?? 'in flight'}
        {decision.error ? `: ${decision.error}` : ''}
      </td>
      <td>{formatMs(decision.latencyMs)}</td>
    </tr>
  );
});
