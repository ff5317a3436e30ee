import { AppError, type Principal } from '../core/index.js';
import { recordAudit } from '../audit/index.js';
import type { AuthDeps } from './deps.js';
import { emailIndex } from './sealed.js';
import { publishRevoked, revokeSessions, revokeSessionsInTx } from './sessions.js';
import { dropPendingLogins } from './factor-changes.js';
import { openColumn } from '../keys/index.js';
import { assertRecentStrongAuth } from './step-up.js';

/**
 * Removes every second factor (authenticator apps AND passkeys) and recovery code of a user, their
 * unfinished logins and enrolments, ends their sessions, and restarts their enrolment grace so they
 * can enrol again. Runs only through the two-person rule (rbac approvals).
 * SECURITY (S2, S16): a reset is the remedy for a planted factor; nothing that authenticates the
 * user may survive it, including an MFA challenge or SSO login already in flight.
 */
export async function resetFactors(
  deps: AuthDeps,
  userId: string,
  actors: { requestedBy: string; approvedBy: string },
): Promise<void> {
  const now = deps.clock.now();
  const user = await deps.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
  if (!user) throw new AppError('not_found', 'no such user');
  await deps.db.transaction().execute(async (tx) => {
    const apps = await tx.deleteFrom('authenticators').where('user_id', '=', userId).executeTakeFirst();
    const keys = await tx.deleteFrom('passkeys').where('user_id', '=', userId).executeTakeFirst();
    await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    await tx.deleteFrom('webauthn_challenges').where('user_id', '=', userId).execute();
    await dropPendingLogins(tx, userId);
    await tx.updateTable('users').set({ mfa_grace_from: now }).where('id', '=', userId).execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: actors.approvedBy,
      action: 'factor.reset',
      target: userId,
      outcome: 'success',
      details: { ...actors, removed: { totp: Number(apps.numDeletedRows), passkeys: Number(keys.numDeletedRows) } },
    });
  });
  await revokeSessions(deps, actors.approvedBy, { userId }, null);
}

/** The password hash of a deleted account's tombstone (see deleteUser). */
const DELETED_PASSWORD = '!';

/** Disables an account: it cannot log in, and its sessions end (sockets close at once). */
export async function disableUser(
  deps: AuthDeps,
  actor: Principal,
  userId: string,
  address: string | null,
): Promise<void> {
  assertRecentStrongAuth(deps, actor);
  if (userId === actor.userId) throw new AppError('forbidden', 'you cannot disable your own account');
  const now = deps.clock.now();
  // SECURITY: the disable, its audit record and the end of the user's sessions commit together.
  const revoked = await deps.db.transaction().execute(async (tx) => {
    const r = await tx
      .updateTable('users')
      .set({ disabled_at: now })
      .where('id', '=', userId)
      .where('disabled_at', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new AppError('not_found', 'no such active user');
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: actor.userId,
      action: 'user.disabled',
      target: userId,
      address,
      outcome: 'success',
    });
    return revokeSessionsInTx(tx, deps, actor.userId, { userId }, 'user_disabled', address);
  });
  publishRevoked(deps, revoked);
}

/**
 * Enables a disabled account again: it can log in (its old sessions stay ended). The same permission
 * and step-up as disabling; audited in the same transaction as the change.
 */
export async function enableUser(
  deps: AuthDeps,
  actor: Principal,
  userId: string,
  address: string | null,
): Promise<void> {
  assertRecentStrongAuth(deps, actor);
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (tx) => {
    // SECURITY: a deleted account (tombstone: password '!') stays disabled for good; it is not found here.
    const user = await tx
      .selectFrom('users')
      .select(['id', 'disabled_at'])
      .where('id', '=', userId)
      .where('password_hash', '!=', DELETED_PASSWORD)
      .executeTakeFirst();
    if (!user) throw new AppError('not_found', 'no such user');
    if (user.disabled_at === null) throw new AppError('not_disabled');
    await tx
      .updateTable('users')
      .set({ disabled_at: null })
      .where('id', '=', userId)
      .where('password_hash', '!=', DELETED_PASSWORD)
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: actor.userId,
      action: 'user.enabled',
      target: userId,
      address,
      outcome: 'success',
    });
  });
}

/** Every account with its base role, state and whether it has a second factor. */
export async function listUsers(deps: AuthDeps, filter: { email?: string } = {}) {
  let q = deps.db
    .selectFrom('users')
    .select(['id', 'username', 'display_name', 'email', 'email_verified_at', 'role', 'disabled_at', 'created_at'])
    .orderBy('created_at');
  // SECURITY: e-mail is found through its keyed blind index; the address itself is never in clear.
  // SECURITY (S14): only verified addresses have an index, so an unverified claim is never found.
  if (filter.email !== undefined) q = q.where('email_index', '=', await emailIndex(deps, filter.email));
  const users = await q.execute();
  const factors = await deps.db
    .selectFrom('authenticators')
    .select('user_id')
    .where('confirmed_at', 'is not', null)
    .where('disabled_at', 'is', null)
    .execute();
  const passkeys = await deps.db.selectFrom('passkeys').select('user_id').execute();
  // A passkey is a second factor like an authenticator app (S2).
  const withFactor = new Set([...factors, ...passkeys].map((f) => f.user_id));
  return Promise.all(
    users.map(async (u) => ({
      id: u.id,
      username: u.username,
      role: u.role,
      disabled: u.disabled_at !== null,
      displayName: await openColumn(deps.sealer, 'users', 'display_name', u.id, u.display_name),
      email: await openColumn(deps.sealer, 'users', 'email', u.id, u.email),
      emailVerified: u.email_verified_at !== null,
      mfa: withFactor.has(u.id),
      createdAt: new Date(u.created_at).toISOString(),
    })),
  );
}
