/** Audit: append-only records of security-relevant actions, published on the bus after commit. */
export { recordAudit, type AuditEntry } from './record.js';
export { AuditTail, AUDIT_RECORDED, type AuditRecorded } from './tail.js';
