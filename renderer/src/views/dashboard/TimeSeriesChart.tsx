import { memo, useMemo } from 'react';
import type { ChartRow } from './series-math';

export type LineSpec = { key: keyof ChartRow; name: string; color: string };

const WIDTH = 560;
const HEIGHT = 200;
const PAD = { left: 60, right: 12, top: 10, bottom: 26 };
const X_TICKS = 4;
/** Estimated width of one axis-label character at the 11px label size, in viewBox units. */
const LABEL_CHAR_WIDTH = 7;
/** Space between a y-axis label and the plot, in viewBox units. */
const LABEL_GAP = 6;
/** Shares of the axis maximum that get a grid line and a y-axis label. */
const Y_SHARES = [0, 0.5, 1];

function formatClock(t: number): string {
  return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** Rounds `value` up to 1, 2 or 5 times a power of ten, for a readable axis maximum. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function formatValue(value: number, unit: string): string {
  const text = value >= 100 || Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1);
  return unit ? `${text}${unit}` : text;
}

function trimNumber(value: number): string {
  return Number.isInteger(value) || value >= 100 ? value.toFixed(0) : String(Number(value.toFixed(1)));
}

/**
 * Formats a y-axis label compactly: milliseconds of 1000 and more as seconds (minutes from 600 s),
 * and plain counts of 10 000 and more with a k or M suffix, so the label fits beside the plot.
 */
export function formatAxisValue(value: number, unit: string): string {
  if (unit.trim() === 'ms') {
    if (value >= 600_000) return `${trimNumber(value / 60_000)} min`;
    if (value >= 1_000) return `${trimNumber(value / 1_000)} s`;
    return formatValue(value, unit);
  }
  if (unit === '') {
    if (value >= 10_000_000) return `${trimNumber(value / 1_000_000)}M`;
    if (value >= 10_000) return `${trimNumber(value / 1_000)}k`;
  }
  return formatValue(value, unit);
}

/** Returns the left padding that fits the widest of `labels` right-aligned before the plot. */
export function leftPadding(labels: string[]): number {
  const widest = Math.max(0, ...labels.map((label) => label.length));
  return Math.max(PAD.left, Math.ceil(widest * LABEL_CHAR_WIDTH + LABEL_GAP + 2));
}

/** Keeps the first and last time labels inside the plot's width. */
function tickAnchor(index: number, count: number): 'start' | 'middle' | 'end' {
  if (count > 1 && index === 0) return 'start';
  if (count > 1 && index === count - 1) return 'end';
  return 'middle';
}

/** Builds an SVG path through the non-null values, starting a new segment after each gap. */
export function linePath(rows: ChartRow[], key: keyof ChartRow, x: (t: number) => number, y: (v: number) => number): string {
  const parts: string[] = [];
  let pen = 'M';
  for (const row of rows) {
    const value = row[key];
    if (value === null || value === undefined) {
      pen = 'M';
      continue;
    }
    parts.push(`${pen}${x(row.t).toFixed(1)},${y(value).toFixed(1)}`);
    pen = 'L';
  }
  return parts.join('');
}

/**
 * A time-series line chart drawn as plain SVG paths. The live charts redraw once per second for
 * every node, and a recharts chart took tens of milliseconds per redraw in the dashboard
 * benchmark (see docs/benchmarks.md), so these charts build their paths directly.
 */
export const TimeSeriesChart = memo(function TimeSeriesChart(props: {
  title: string;
  rows: ChartRow[];
  lines: LineSpec[];
  unit: string;
  testId: string;
  note?: string;
}) {
  const { title, rows, lines, unit, testId, note } = props;
  const drawing = useMemo(() => {
    const first = rows[0]?.t ?? 0;
    const last = rows[rows.length - 1]?.t ?? 1;
    const span = Math.max(1, last - first);
    let max = 0;
    for (const row of rows) {
      for (const line of lines) {
        const value = row[line.key];
        if (typeof value === 'number' && value > max) max = value;
      }
    }
    const top = niceCeiling(max);
    const yTicks = Y_SHARES.map((share) => ({ value: top * share, label: formatAxisValue(top * share, unit) }));
    const left = leftPadding(yTicks.map((tick) => tick.label));
    const x = (t: number) => left + ((t - first) / span) * (WIDTH - left - PAD.right);
    const y = (v: number) => HEIGHT - PAD.bottom - (v / top) * (HEIGHT - PAD.top - PAD.bottom);
    const paths = lines.map((line) => ({ line, d: linePath(rows, line.key, x, y) }));
    const xTicks = rows.length < 2 ? [first] : Array.from({ length: X_TICKS }, (_, i) => first + (span * i) / (X_TICKS - 1));
    return { top, left, x, y, yTicks, paths, xTicks };
  }, [rows, lines, unit]);

  const latest = rows[rows.length - 1];
  const summary = lines
    .map((line) => {
      const value = latest?.[line.key];
      return `${line.name} ${typeof value === 'number' ? formatValue(value, unit) : 'no data'}`;
    })
    .join(', ');

  return (
    <figure className="card chart" data-testid={testId} data-points={rows.length}>
      <figcaption>
        {title}
        {note && <span className="muted"> · {note}</span>}
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="chart-svg" role="img" aria-label={`${title}. Latest: ${summary}`}>
        {drawing.yTicks.map((tick) => {
          const y = drawing.y(tick.value);
          return (
            <g key={tick.value} className="chart-grid-line" data-testid="chart-y-label">
              <line x1={drawing.left} x2={WIDTH - PAD.right} y1={y} y2={y} />
              <text x={drawing.left - LABEL_GAP} y={y + 4} textAnchor="end">
                {tick.label}
              </text>
            </g>
          );
        })}
        {drawing.xTicks.map((t, i) => (
          <text key={t} className="chart-axis-label" x={drawing.x(t)} y={HEIGHT - 8} textAnchor={tickAnchor(i, drawing.xTicks.length)}>
            {formatClock(t)}
          </text>
        ))}
        {drawing.paths.map(({ line, d }) =>
          d.includes('L') ? (
            <path key={line.key} className="chart-line" d={d} stroke={line.color} />
          ) : d ? (
            <circle key={line.key} className="chart-line" cx={d.slice(1).split(',')[0]} cy={d.split(',')[1]} r={3} fill={line.color} />
          ) : null,
        )}
      </svg>
      <ul className="chart-legend">
        {lines.map((line) => (
          <li key={line.key}>
            <span className="swatch" style={{ background: line.color }} aria-hidden="true" /> {line.name}
          </li>
        ))}
      </ul>
    </figure>
  );
});
