import { useMemo, useState } from 'react';
import type { NodeSeries } from '../../../../shared/api/metrics';
import { useApp } from '../../store/context';
import { chartRows, fleetRows } from './series-math';
import { TimeSeriesChart as TimeChart } from './TimeSeriesChart';

const FLEET = '';

/** Latency, TTFT, tokens/s, request rate, errors and hedges over the last 15 minutes. */
export function LatencyView() {
  const series = useApp((state) => state.series);
  const metricsAt = useApp((state) => state.metricsAt);
  const hedges = useApp((state) => state.hedges);
  const hedgeSeries = useApp((state) => state.hedgeSeries);
  const [choice, setChoice] = useState<string>(FLEET);

  const all = useMemo(() => Object.values(series).sort((a, b) => a.nodeName.localeCompare(b.nodeName)), [series]);
  const fleet = useMemo(() => fleetRows(all, metricsAt, hedgeSeries), [all, metricsAt, hedgeSeries]);
  const selected: NodeSeries | undefined = choice === FLEET ? busiest(all) : series[choice];
  const rows = useMemo(() => chartRows(selected?.points ?? [], metricsAt), [selected, metricsAt]);
  const hasTokens = rows.some((row) => row.tokensPerSec !== null);

  return (
    <section aria-labelledby="latency-heading" data-testid="latency-view" className="dashboard">
      <div className="section-header">
        <h2 id="latency-heading">Latency</h2>
        <label className="field-inline">
          Node{' '}
          <select value={choice} onChange={(event) => setChoice(event.target.value)} data-testid="latency-node">
            <option value={FLEET}>Busiest node</option>
            {all.map((node) => (
              <option key={node.nodeId} value={node.nodeId}>
                {node.nodeName}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="muted" data-testid="latency-hedges">
        Hedges: {hedges.sent} sent, {hedges.won} won, {hedges.cancelled} cancelled, {hedges.skipped} skipped by budget.
      </p>
      {all.length === 0 ? (
        <p className="muted" data-testid="latency-empty">
          No finished requests in the last 15 minutes.
        </p>
      ) : (
        <div className="chart-grid">
          <TimeChart
            testId="chart-rate"
            title="Fleet requests per second, errors and hedges per bin"
            rows={fleet}
            unit=""
            lines={[
              { key: 'rate', name: 'requests/s', color: 'var(--series-1)' },
              { key: 'errors', name: 'errors', color: 'var(--danger)' },
              { key: 'hedgesWon', name: 'hedges won', color: 'var(--series-3)' },
              { key: 'hedgesCancelled', name: 'hedges cancelled', color: 'var(--series-4)' },
            ]}
          />
          <TimeChart
            testId="chart-latency"
            title={`Latency of ${selected?.nodeName ?? '—'}`}
            rows={rows}
            unit=" ms"
            lines={[
              { key: 'p50', name: 'p50', color: 'var(--series-1)' },
              { key: 'p95', name: 'p95', color: 'var(--series-2)' },
              { key: 'p99', name: 'p99', color: 'var(--series-5)' },
            ]}
          />
          <TimeChart testId="chart-ttft" title={`Time to first token (p50) of ${selected?.nodeName ?? '—'}`} rows={rows} unit=" ms" lines={[{ key: 'ttft', name: 'TTFT p50', color: 'var(--series-3)' }]} />
          <TimeChart testId="chart-tokens" title={`Tokens per second of ${selected?.nodeName ?? '—'}`} rows={rows} unit="" lines={[{ key: 'tokensPerSec', name: 'tokens/s', color: 'var(--series-6)' }]}
            note={hasTokens ? undefined : 'no token counts reported yet'}
          />
        </div>
      )}
    </section>
  );
}

function busiest(all: NodeSeries[]): NodeSeries | undefined {
  let best: NodeSeries | undefined;
  let bestCount = -1;
  for (const node of all) {
    const count = node.points.reduce((n, p) => n + p.requests, 0);
    if (count > bestCount) {
      best = node;
      bestCount = count;
    }
  }
  return best;
}
