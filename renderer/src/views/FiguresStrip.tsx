import { Bar, BarChart, Tooltip, XAxis, YAxis } from 'recharts';
import { formatMs } from '../lib/format';
import { useApp } from '../store/context';

/** Live request count and median latency per node, from `stats:figures`. */
export function FiguresStrip() {
  const figures = useApp((state) => state.figures);
  const nodes = figures?.nodes ?? [];
  const data = nodes.map((node) => ({ name: node.nodeName, p50: node.p50LatencyMs ?? 0 }));

  return (
    <section className="figures" aria-label="Live figures" data-testid="figures-strip">
      <div className="figure">
        <span className="figure-label">Requests</span>
        <span className="figure-value" data-testid="figure-total-requests">
          {figures?.totalRequests ?? 0}
        </span>
      </div>
      {nodes.map((node) => (
        <div className="figure" key={node.nodeId} data-testid="figure-node">
          <span className="figure-label">{node.nodeName} p50</span>
          <span className="figure-value">{formatMs(node.p50LatencyMs)}</span>
          <span className="muted">
            {node.requests} req · {node.inFlight} active
          </span>
        </div>
      ))}
      {data.length > 0 && (
        // The figures above already show each node's p50 as text, so the bar chart is decoration. It is
        // hidden from assistive technology, and without recharts' keyboard layer it is no tab stop.
        <div className="figure-chart" aria-hidden="true" data-testid="figures-chart">
          <BarChart
            width={220}
            height={56}
            data={data}
            margin={{ top: 4, right: 4, bottom: 0, left: 0 }}
            accessibilityLayer={false}
          >
            <XAxis dataKey="name" hide />
            <YAxis hide />
            <Tooltip formatter={(value) => formatMs(Number(value))} />
            <Bar dataKey="p50" fill="var(--accent)" isAnimationActive={false} />
          </BarChart>
        </div>
      )}
    </section>
  );
}
