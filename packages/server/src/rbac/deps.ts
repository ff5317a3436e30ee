import type { Bus, Clock } from '../core/index.js';
import type { Db } from '../store/index.js';

/** Runs an approved dangerous action; registered by the composition root per action name. */
export type ApprovedActionHandler = (
  params: Record<string, unknown>,
  actors: { requestedBy: string; approvedBy: string; approvalId: string },
) => Promise<void>;

/** What the role-grant and approval use cases need. */
export interface RbacDeps {
  db: Db;
  clock: Clock;
  bus: Bus;
  /** Seals what the audit records keep (addresses, details). */
  sealer: import('../crypto/index.js').Sealer;
  /** Dangerous actions under the two-person rule, with the permission each needs. */
  actions: Record<string, { permission: import('./permissions.js').AccountPermission; run: ApprovedActionHandler }>;
  /** Throws `step_up_required` unless the principal verified a strong factor recently. */
  assertStepUp: (principal: import('../core/index.js').Principal) => void;
}
