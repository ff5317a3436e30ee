/** Alerts: findings grouped into alerts, stored sealed, delivered durably to webhook, syslog and e-mail. */
export { Alerter, type AlerterDeps, type AlertFilter, type ChannelRoute } from './alerter.js';
export { DeliveryWorker, backoffMs, type DeliveryWorkerDeps } from './delivery-worker.js';
export { ALERTS_SCOPE, groupKeyOf, type AlertDetail, type AlertPayload } from './model.js';
export {
  createAlertChannels,
  syslogCheckpointSink,
  webhookSignature,
  type AlertChannel,
  type AuditCheckpoint,
  type SyslogChannelConfig,
} from './channels/index.js';
export { createAlerts, type AlertsWiring } from './wiring.js';
