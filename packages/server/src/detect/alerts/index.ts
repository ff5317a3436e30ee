/** Alerts: findings grouped into alerts, stored sealed, delivered durably to webhook, syslog and e-mail. */
export { Alerter } from './alerter.js';
export { DeliveryWorker } from './delivery-worker.js';
export { syslogCheckpointSink } from './channels/index.js';
export { createAlerts } from './wiring.js';
