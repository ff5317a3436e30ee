import { AppError, type Principal } from '../core/index.js';
import { hashPassword, verifyPassword } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import type { AuthDeps } from './deps.js';
import { hasActiveFactor } from './factors.js';
import { assertPasswordAcceptable, MIN_SINGLE_FACTOR_LENGTH, PRODUCT_WORDS } from './password-policy.js';
import { dropPendingLogins } from './factor-changes.js';
import { publishRevoked, revokeSessionsInTx } from './sessions.js';
import { openColumn } from '../keys/index.js';
import { assertRecentStrongAuth } from './step-up.js';

/** 800-63B-4 §3.1.1.2: a password that is one factor of MFA needs at least 8 code points. */
export const MIN_MFA_PASSWORD_LENGTH = 8;

/**
 * Changes the caller's password. With a second factor the new one may be 8+ code points (otherwise
 * 15+), and the change needs a recent step-up. Every other session of the user ends.
 */
export async function changePassword(
  deps: AuthDeps,
  principal: Principal,
  current: string,
  next: string,
  address: string | null,
): Promise<void> {
  const mfa = await hasActiveFactor(deps.db, principal.userId);
  if (mfa) assertRecentStrongAuth(deps, principal);
  deps.limiter.check('login.account', principal.username);
  const user = await deps.db
    .selectFrom('users')
    .select(['password_hash', 'display_name'])
    .where('id', '=', principal.userId)
    .executeTakeFirstOrThrow();
  if (!(await verifyPassword(user.password_hash, current))) {
    await recordAudit(deps.db, deps.sealer, {
      at: deps.clock.now(),
      actorId: principal.userId,
      action: 'password.change_failed',
      address,
      outcome: 'failure',
    });
    throw new AppError('auth_failed', 'the current password is wrong');
  }
  assertPasswordAcceptable(
    next,
    [
      principal.username,
      ...(user.display_name
        ? [await openColumn(deps.sealer, 'users', 'display_name', principal.userId, user.display_name)]
        : []),
      ...PRODUCT_WORDS,
      ...(deps.policy.orgName ? [deps.policy.orgName] : []),
    ],
    mfa ? MIN_MFA_PASSWORD_LENGTH : MIN_SINGLE_FACTOR_LENGTH,
  );
  const hash = await hashPassword(next, deps.policy.argon2);
  const revoked = await deps.db.transaction().execute(async (tx) => {
    await tx.updateTable('users').set({ password_hash: hash }).where('id', '=', principal.userId).execute();
    // SECURITY (S16): an MFA challenge earned with the old password dies with it.
    await dropPendingLogins(tx, principal.userId);
    await recordAudit(tx, deps.sealer, {
      at: deps.clock.now(),
      actorId: principal.userId,
      action: 'password.changed',
      address,
      outcome: 'success',
    });
    // SECURITY-BASELINE (sessions): the other sessions end in the same transaction as the change.
    return revokeSessionsInTx(
      tx,
      deps,
      principal.userId,
      { userId: principal.userId, except: principal.sessionId },
      'admin',
      address,
    );
  });
  publishRevoked(deps, revoked);
}
