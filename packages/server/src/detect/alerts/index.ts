/** Alerts: findings grouped into alerts, stored sealed, delivered durably to webhook, syslog and e-mail. */
export { Alerter, groupKeyOf, type AlerterDeps, type AlertFilter, type ChannelRoute } from './alerter.js';
export { DeliveryWorker, backoffMs, type DeliveryWorkerDeps } from './delivery-worker.js';
export { ALERTS_SCOPE, type AlertDetail, type AlertPayload } from './model.js';
export {
  createAlertChannels,
  syslogCheckpointSink,
  webhookSignature,
  type AlertChannel,
  type AuditCheckpoint,
  type SyslogChannelConfig,
} from './channels/index.js';
