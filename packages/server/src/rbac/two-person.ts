import { ADMIN_ROLES } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import type { Executor } from '../store/index.js';
import { accountCan, type AccountPermission } from './permissions.js';

/** Two-person action that releases an invite carrying administrative roles (S3). */
export const INVITE_APPROVAL_ACTION = 'invite.grant';

/** Two-person action that makes a direct grant of an administrative role (S3). */
export const ROLE_GRANT_ACTION = 'role.grant';

/** Roles that nobody hands out alone, in an invite or by a direct grant (S3). */
export const TWO_PERSON_ROLES: ReadonlySet<string> = new Set(ADMIN_ROLES);

/** How long an invitation or a grant between two people keeps them from being each other's second person. */
export const INDEPENDENCE_WINDOW_MS = 30 * 24 * 3_600_000;

/**
 * True when one of the two accounts invited or created the other, or granted or approved a role of
 * the other, within the window. Grants whose source is an IdP (`idp:<issuer>`) or nobody do not count.
 */
export async function related(db: Executor, a: string, b: string, now: number): Promise<boolean> {
  const since = now - INDEPENDENCE_WINDOW_MS;
  const invited = await db
    .selectFrom('users')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('id', '=', a), eb('created_by', '=', b)]),
        eb.and([eb('id', '=', b), eb('created_by', '=', a)]),
      ]),
    )
    .where('created_at', '>', since)
    .executeTakeFirst();
  if (invited) return true;
  const granted = await db
    .selectFrom('role_grants')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('user_id', '=', a), eb.or([eb('requested_by', '=', b), eb('approved_by', '=', b)])]),
        eb.and([eb('user_id', '=', b), eb.or([eb('requested_by', '=', a), eb('approved_by', '=', a)])]),
      ]),
    )
    .where((eb) => eb.or([eb('created_at', '>', since), eb('approved_at', '>', since)]))
    .executeTakeFirst();
  return granted !== undefined;
}

/**
 * SECURITY (S4): the two halves of a two-person rule are two independent people. An account that one
 * of them invited, or whose role one of them granted or approved, in the last 30 days may be a puppet
 * of that person, so it cannot be the other half.
 */
export async function assertIndependent(db: Executor, requester: string, approver: string, now: number): Promise<void> {
  if (requester === approver) throw new AppError('forbidden', 'a second person must approve this');
  if (await related(db, requester, approver, now)) {
    throw new AppError(
      'forbidden',
      'the approver and the requester invited or granted roles to one another in the last 30 days; another person must approve',
    );
  }
}

/**
 * True when the account is enabled and holds `perm` now (base role plus approved, unexpired,
 * unrevoked grants).
 * SECURITY: a two-person request runs only while its requester still holds the permission: revoking a
 * compromised admin's role, or disabling the account, also voids the requests it left pending.
 */
export async function stillHolds(db: Executor, userId: string, perm: AccountPermission, now: number): Promise<boolean> {
  const user = await db.selectFrom('users').select(['role', 'disabled_at']).where('id', '=', userId).executeTakeFirst();
  if (!user || user.disabled_at !== null) return false;
  const grants = await db
    .selectFrom('role_grants')
    .select('role')
    .where('user_id', '=', userId)
    .where('approved_at', 'is not', null)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .execute();
  return accountCan([user.role, ...grants.map((g) => g.role)], perm);
}
