/** Audit: append-only records of security-relevant actions (the hash chain arrives in a later issue). */
export { recordAudit, type AuditEntry } from './record.js';
