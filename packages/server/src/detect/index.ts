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
export { DetectionEngine, type DetectEngineConfig, type DetectEngineOptions } from './engine/engine.js';
export { FindingStore, type FindingFilter } from './engine/findings.js';
export type { DetectInput } from './engine/observe.js';
export { RULE_IDS } from './engine/rules.js';
