/** Audit: append-only records of security-relevant actions (address and details sealed), written in the change's transaction. */
export { openAudit, recordAudit, type AuditEntry, type OpenedAudit } from './record.js';
