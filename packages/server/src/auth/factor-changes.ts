import type { Principal } from '../core/index.js';
import type { Executor } from '../store/index.js';
import type { AuthDeps } from './deps.js';
import { publishRevoked, revokeSessionsInTx } from './sessions.js';

/** A pending (unconfirmed) TOTP enrolment lives this long (S5). */
export const PENDING_ENROLMENT_TTL_MS = 10 * 60_000;

/**
 * Ends every session of the caller's user except the caller's own; realtime closes their sockets
 * (the `session.revoked` bus event). SECURITY-BASELINE (sessions): a factor or password change
 * revokes the other sessions, so a session that helped an attacker does not outlive the change.
 */
export async function endOtherSessions(deps: AuthDeps, principal: Principal, address: string | null): Promise<number> {
  const revoked = await deps.db
    .transaction()
    .execute((tx) =>
      revokeSessionsInTx(
        tx,
        deps,
        principal.userId,
        { userId: principal.userId, except: principal.sessionId },
        'admin',
        address,
      ),
    );
  publishRevoked(deps, revoked);
  return revoked.sessionIds.length;
}

/**
 * Drops what was started while the account had no factor: pending TOTP enrolments (except `keepId`)
 * and open passkey registration challenges. SECURITY (S5): they were begun without step-up, so
 * once a factor exists they must not be completed.
 */
export async function dropPendingEnrolments(tx: Executor, userId: string, keepId?: string): Promise<void> {
  let q = tx.deleteFrom('authenticators').where('user_id', '=', userId).where('confirmed_at', 'is', null);
  if (keepId !== undefined) q = q.where('id', '!=', keepId);
  await q.execute();
  await tx
    .deleteFrom('webauthn_challenges')
    .where('user_id', '=', userId)
    .where('purpose', '=', 'register')
    .where('used_at', 'is', null)
    .execute();
}

/**
 * Drops a user's unfinished logins: MFA challenges from the password step (and their WebAuthn
 * challenges) and SSO logins the IdP has vouched for but the device has not collected.
 * SECURITY (S16): a challenge earned with the old password, or before a factor reset, must not
 * still open a session afterwards.
 */
export async function dropPendingLogins(tx: Executor, userId: string): Promise<void> {
  await tx.deleteFrom('login_challenges').where('user_id', '=', userId).where('used_at', 'is', null).execute();
  await tx
    .deleteFrom('webauthn_challenges')
    .where('user_id', '=', userId)
    .where('purpose', '=', 'second_factor')
    .where('used_at', 'is', null)
    .execute();
  await tx.deleteFrom('sso_logins').where('user_id', '=', userId).where('completed_at', 'is', null).execute();
}
