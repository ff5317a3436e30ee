/** Audit: append-only, hash-chained records of security-relevant actions (address and details sealed), written in the change's transaction. */
export { openAudit, recordAudit, type AuditEntry, type OpenedAudit } from './record.js';
export { AUDIT_SCOPE, GENESIS_HASH, prepareAuditChain } from './chain.js';
export {
  AuditCheckpointer,
  checkpointFileSink,
  writeCheckpoint,
  type AuditCheckpoint,
  type CheckpointerOptions,
} from './checkpoint.js';
export {
  verifyAuditChain,
  type AuditBad,
  type AuditProblem,
  type AuditVerifyResult,
  type VerifyOptions,
} from './verify.js';
export { AuditFeed, type AuditFeedOptions } from './feed.js';
export { exportAudit, queryAudit, type AuditAccess, type AuditFilter } from './query.js';
