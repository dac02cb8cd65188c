import { formatMs, formatTime } from '../lib/format';
import { useApp } from '../store/context';

function formatFactors(factors: Record<string, number>): string {
  return Object.entries(factors)
    .map(([name, value]) => `${name}=${Number.isInteger(value) ? value : value.toFixed(2)}`)
    .join(', ');
}

export function RoutingView() {
  const decisions = useApp((state) => state.decisions);
  return (
    <section aria-labelledby="routing-heading" data-testid="routing-view">
      <h2 id="routing-heading">Routing decisions</h2>
      {decisions.length === 0 ? (
        <p className="muted" data-testid="routing-empty">
          No requests routed yet.
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
                <th scope="col">Outcome</th>
                <th scope="col">Latency</th>
              </tr>
            </thead>
            <tbody>
              {decisions.map((decision) => (
                <tr key={decision.id} data-testid="route-row">
                  <td>{formatTime(decision.at)}</td>
                  <td>{decision.endpoint}</td>
                  <td>{decision.model}</td>
                  <td>{decision.nodeName ?? '—'}</td>
                  <td data-testid="route-reason">
                    {decision.reason}
                    {decision.alternatives.length > 0 && (
                      <span className="muted">
                        {' '}
                        (passed over:{' '}
                        {decision.alternatives.map((alt) => `${alt.nodeName}: ${alt.reason}`).join('; ')})
                      </span>
                    )}
                  </td>
                  <td data-testid="route-factors">{formatFactors(decision.factors)}</td>
                  <td>
                    {decision.outcome ?? 'in flight'}
                    {decision.error ? `: ${decision.error}` : ''}
                  </td>
                  <td>{formatMs(decision.latencyMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
