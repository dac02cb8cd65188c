import type { Histogram } from './histogram';

export type Labels = Record<string, string>;

export type CounterOrGauge = {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: Array<{ labels: Labels; value: number }>;
};

export type HistogramFamily = {
  name: string;
  help: string;
  type: 'histogram';
  samples: Array<{ labels: Labels; histogram: Histogram }>;
};

export type MetricFamily = CounterOrGauge | HistogramFamily;

/** Escapes a label value as the Prometheus text format requires: backslash, quote, newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return `{${keys.map((key) => `${key}="${escapeLabelValue(labels[key])}"`).join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * Renders metric families in the Prometheus text exposition format (version 0.0.4): a `# HELP`
 * and `# TYPE` line per family, then one line per sample. Histograms expand into cumulative
 * `_bucket` lines (ending with `le="+Inf"`), `_sum` and `_count`.
 */
export function renderPrometheusText(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    if (family.type === 'histogram') {
      for (const { labels, histogram } of family.samples) {
        histogram.bounds.forEach((bound, i) => {
          lines.push(`${family.name}_bucket${formatLabels({ ...labels, le: formatValue(bound) })} ${histogram.counts[i]}`);
        });
        lines.push(`${family.name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${histogram.count}`);
        lines.push(`${family.name}_sum${formatLabels(labels)} ${formatValue(histogram.sum)}`);
        lines.push(`${family.name}_count${formatLabels(labels)} ${histogram.count}`);
      }
    } else {
      for (const { labels, value } of family.samples) {
        lines.push(`${family.name}${formatLabels(labels)} ${formatValue(value)}`);
      }
    }
  }
  return lines.join('\n') + '\n';
}

/** Content-Type of the text exposition format, for the `/metrics` HTTP route. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
