/** Detect (layer 2, imported by nobody but server/): the detection engine, response playbooks and alerts. */
export type { Alert, Containment, Finding } from './types.js';
export { DetectionService } from './service.js';
export { Alerter, DeliveryWorker, createAlerts, syslogCheckpointSink } from './alerts/index.js';
export { Responder, loadAddressBlocks } from './response/index.js';
export { DetectionEngine, type DetectEngineConfig } from './engine/engine.js';
export { FindingStore } from './engine/findings.js';
export type { DetectInput } from './engine/observe.js';
