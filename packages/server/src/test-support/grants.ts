import type { Clock } from '../core/index.js';
import type { Sealer } from '../crypto/index.js';
import { randomId } from '../crypto/index.js';
import { sealInTable } from '../keys/index.js';
import type { Db } from '../store/index.js';

/**
 * Writes a standing grant as the operator's path does (an admin-socket invite: no requester, no
 * approver), `ageMs` in the past. Test-only: for tests that need an administrative role on an account
 * without going through a two-person request. An operator grant ties nobody to anybody (S4).
 */
export async function seedOperatorGrant(
  deps: { db: Db; sealer: Sealer; clock: Clock },
  userId: string,
  role: string,
  ageMs = 0,
): Promise<string> {
  const id = randomId();
  const at = deps.clock.now() - ageMs;
  await deps.db
    .insertInto('role_grants')
    .values({
      id,
      user_id: userId,
      role,
      kind: 'standing',
      reason: sealInTable(deps.sealer, 'role_grants', 'reason', id, 'seeded as the operator would'),
      requested_by: null,
      approved_by: null,
      approved_at: at,
      created_at: at,
      expires_at: null,
      revoked_at: null,
    })
    .execute();
  return id;
}
