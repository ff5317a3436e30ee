/** Metrics: the Prometheus implementation of the core `Metrics` port, the store query timer, the peer rule. */
export { PrometheusMetrics, METRIC_PREFIX } from './prometheus.js';
export { QueryTimingPlugin, queryKind } from './query-timing.js';
export { isLoopbackAddress, isLoopbackHostHeader } from './peer.js';
