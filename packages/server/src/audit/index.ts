/** Audit: append-only, hash-chained records of security-relevant actions (address and details sealed), written in the change's transaction. */
export { openAudit, recordAudit, type AuditEntry, type OpenedAudit } from './record.js';
export { prepareAuditChain } from './chain.js';
export {
  AuditCheckpointer,
  checkpointFileSink,
  readExportedCheckpoints,
  writeCheckpoint,
  type AuditCheckpoint,
} from './checkpoint.js';
export { verifyAuditChain, type AuditProblem, type AuditVerifyResult } from './verify.js';
export { AuditFeed } from './feed.js';
export { exportAudit, queryAudit, type AuditAccess } from './query.js';
export { startAuditServices, type AuditServices } from './service.js';
