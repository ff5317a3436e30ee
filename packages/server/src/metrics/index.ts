/** Metrics: the Prometheus implementation of the core `Metrics` port, the store query timer, the peer rule. */
export { PrometheusMetrics } from './prometheus.js';
export { QueryTimingPlugin } from './query-timing.js';
export { isLoopbackAddress, isLoopbackHostHeader } from './peer.js';
