/** Audit: append-only records of security-relevant actions (address and details sealed), published on the bus after commit. */
export { AUDIT_SCOPE, openAudit, recordAudit, type AuditEntry, type OpenedAudit } from './record.js';
export { AuditTail, AUDIT_RECORDED, type AuditRecorded } from './tail.js';
