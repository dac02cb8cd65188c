import type { RoutingStats } from '../../../../shared/api/routing';
import { formatMs, formatTime } from '../../lib/format';
import { useApp } from '../../store/context';

function HedgeFacts({ hedges }: { hedges: RoutingStats['hedges'] }) {
  return (
    <dl className="facts" data-testid="stats-hedges">
      <dt>Hedged requests</dt>
      <dd data-testid="hedges-requests">{hedges.requests}</dd>
      <dt>Hedges sent</dt>
      <dd data-testid="hedges-sent">{hedges.sent}</dd>
      <dt>Hedges won</dt>
      <dd data-testid="hedges-won">{hedges.won}</dd>
      <dt>Hedges cancelled</dt>
      <dd data-testid="hedges-cancelled">{hedges.cancelled}</dd>
      <dt>Skipped by budget</dt>
      <dd data-testid="hedges-skipped">{hedges.skippedByBudget}</dd>
    </dl>
  );
}

/** Read-only routing statistics from `routing:stats`: hedges, breakers, placement actions and learned figures. */
export function RoutingStatsPanel() {
  const stats = useApp((state) => state.routingStats);
  const nodes = useApp((state) => state.nodes);
  const loadStats = useApp((state) => state.loadRoutingStats);
  if (!stats) return null;

  const nodeName = (id: string) => nodes.find((node) => node.id === id)?.name ?? id;
  const actionsNewestFirst = [...stats.placementActions].reverse();

  return (
    <section aria-labelledby="stats-heading" className="card" data-testid="routing-stats">
      <div className="section-header">
        <h3 id="stats-heading">Routing statistics</h3>
        <button type="button" data-testid="stats-refresh" onClick={() => void loadStats()}>
          Refresh
        </button>
      </div>
      <p>
        Active strategy: <strong data-testid="stats-strategy">{stats.strategy}</strong>
      </p>

      <h4>Hedging</h4>
      <HedgeFacts hedges={stats.hedges} />

      <h4>Circuit breakers</h4>
      {stats.breakers.length === 0 ? (
        <p className="muted">No breakers yet.</p>
      ) : (
        <ul className="compact-list" data-testid="stats-breakers">
          {stats.breakers.map((breaker) => (
            <li key={breaker.nodeId} data-testid="stats-breaker">
              {nodeName(breaker.nodeId)}: <span className="badge">{breaker.state.replace('_', ' ')}</span>
            </li>
          ))}
        </ul>
      )}

      <h4>Recent placement actions</h4>
      {actionsNewestFirst.length === 0 ? (
        <p className="muted">No placement actions yet.</p>
      ) : (
        <ul className="compact-list" data-testid="stats-placement">
          {actionsNewestFirst.map((action, index) => (
            <li key={`${action.at}-${action.nodeId}-${index}`} data-testid="stats-placement-action">
              <time dateTime={action.at}>{formatTime(action.at)}</time> {action.action} {action.model} on{' '}
              {action.nodeName}: {action.outcome}. {action.detail}
            </li>
          ))}
        </ul>
      )}

      <h4>Learned performance</h4>
      {stats.learned.length === 0 ? (
        <p className="muted">Nothing learned yet; figures appear after routed requests finish.</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="stats-learned">
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Model</th>
                <th scope="col">Task</th>
                <th scope="col">TTFT</th>
                <th scope="col">Tokens/s</th>
                <th scope="col">Latency</th>
                <th scope="col">Success</th>
                <th scope="col">Samples</th>
              </tr>
            </thead>
            <tbody>
              {stats.learned.map((entry) => (
                <tr key={`${entry.nodeId}|${entry.model}|${entry.taskType}`} data-testid="stats-learned-row">
                  <td>{nodeName(entry.nodeId)}</td>
                  <td>{entry.model}</td>
                  <td>{entry.taskType}</td>
                  <td>{formatMs(entry.ttftMs)}</td>
                  <td>{entry.tokensPerSec.toFixed(1)}</td>
                  <td>{formatMs(entry.latencyMs)}</td>
                  <td>{Math.round(entry.successRate * 100)}%</td>
                  <td>{entry.samples}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
