/** Detect (layer 2, imported by nobody): the detection engine, response playbooks and alerts. */
export type {
  Alert,
  Containment,
  Finding,
  FindingSubject,
  Playbook,
  ResponseActionKind,
  ResponseStep,
  Severity,
} from './types.js';
export { SEVERITIES } from './types.js';
export { DetectionService, type DetectionStats, type EnginePort, type FindingPorts } from './service.js';
export {
  Alerter,
  DeliveryWorker,
  createAlerts,
  type AlertsWiring,
  createAlertChannels,
  syslogCheckpointSink,
  webhookSignature,
  ALERTS_SCOPE,
  groupKeyOf,
  type AlerterDeps,
  type AlertFilter,
  type AlertDetail,
  type AlertPayload,
  type AlertChannel,
  type AuditCheckpoint,
  type ChannelRoute,
  type DeliveryWorkerDeps,
  type SyslogChannelConfig,
} from './alerts/index.js';
export { Responder, loadAddressBlocks, type ResponderDeps, type ContainmentFilter } from './response/index.js';
export { DetectionEngine, type DetectEngineConfig, type DetectEngineOptions } from './engine/engine.js';
export { FindingStore, type FindingFilter } from './engine/findings.js';
export type { DetectInput } from './engine/observe.js';
export { RULE_IDS } from './engine/rules.js';
