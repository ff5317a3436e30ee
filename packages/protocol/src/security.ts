import { z } from 'zod';
import { text } from './common.js';

const Limit = z.coerce.number().int().min(1).max(500).default(100);
/** A rule id: dotted lower-case words (`auth.brute_force.address`). */
const RuleId = z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+){0,4}$/, 'a rule id such as auth.brute_force.address');

/** GET /v1/security/alerts */
export const AlertsQuery = z.strictObject({
  state: z.enum(['open', 'acknowledged', 'resolved']).optional(),
  limit: Limit,
});
export type AlertsQuery = z.infer<typeof AlertsQuery>;

/** GET /v1/security/findings */
export const FindingsQuery = z.strictObject({ rule: RuleId.optional(), limit: Limit });
export type FindingsQuery = z.infer<typeof FindingsQuery>;

/** GET /v1/security/containments */
export const ContainmentsQuery = z.strictObject({
  state: z.enum(['pending_approval', 'active', 'expired', 'undone', 'failed']).optional(),
});
export type ContainmentsQuery = z.infer<typeof ContainmentsQuery>;

/** POST /v1/security/alerts/:id/resolve */
export const ResolveAlertRequest = z.strictObject({ note: text({ min: 1, max: 500, kind: 'display' }).optional() });
export type ResolveAlertRequest = z.infer<typeof ResolveAlertRequest>;
