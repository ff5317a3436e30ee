/** Audit: append-only records of security-relevant actions (address and details sealed), published on the bus after commit. */
export { openAudit, recordAudit, type OpenedAudit } from './record.js';
export { AuditTail } from './tail.js';
