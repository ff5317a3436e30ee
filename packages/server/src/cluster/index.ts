/** Cluster transport for domain events: in-process today; NATS arrives with the clustering issue. */
export { InProcessBus } from './in-process-bus.js';
