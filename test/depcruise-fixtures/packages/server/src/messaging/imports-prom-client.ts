// expect: prom-client-only-in-metrics
// The domain records through the core Metrics port; only metrics/ may know Prometheus.
import { Counter } from 'prom-client';
export const sent = new Counter({ name: 'fixture_sent_total', help: 'fixture' });
