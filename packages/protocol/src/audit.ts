import { z } from 'zod';
import { text } from './common.js';

const Name = text({ min: 1, max: 128, kind: 'machine' });

/** Filter of GET /v1/audit and GET /v1/audit/export: who, what, on what, when (UTC ms), and paging by chain seq. */
export const AuditQuery = z.strictObject({
  actor: Name.optional(),
  action: Name.optional(),
  target: text({ min: 1, max: 256, kind: 'machine' }).optional(),
  from: z.coerce.number().int().min(0).optional(),
  to: z.coerce.number().int().min(0).optional(),
  /** Records after this chain position (the `next` of the previous page). */
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

/** One audit record as read back; address and details are present only for holders of `audit.read`. */
export const AuditRecordView = z.object({
  seq: z.number().int(),
  at: z.number().int(),
  actorId: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  outcome: z.enum(['success', 'failure']),
  drill: z.string().nullable(),
  hash: z.string(),
  address: z.string().nullable().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type AuditRecordView = z.infer<typeof AuditRecordView>;

/** GET /v1/audit: a page of records in chain order; `next` is the `after` of the next page. */
export const AuditPage = z.object({ records: z.array(AuditRecordView), next: z.number().int().nullable() });
export type AuditPage = z.infer<typeof AuditPage>;
