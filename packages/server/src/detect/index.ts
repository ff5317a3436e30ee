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
export { Responder, loadAddressBlocks, type ResponderDeps, type ContainmentFilter } from './response/index.js';
