export { createMetrics, Metrics, type MetricsOptions } from './metrics';
export { registerMetricsApi } from './api';
export { PROMETHEUS_CONTENT_TYPE } from './prometheus';
export { createLogLineStream, toLogLine } from './log-lines';
