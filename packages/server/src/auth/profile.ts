import { AppError, type Principal } from '../core/index.js';
import { recordAudit } from '../audit/index.js';
import { openColumn, scopeOf } from '../keys/index.js';
import { isUniqueViolation } from '../store/index.js';
import type { AuthDeps } from './deps.js';
import { emailIndex, normaliseEmail, sealForUser } from './sealed.js';
import { revokeSessions } from './sessions.js';
import { tombstoneUsername } from './reserved-names.js';
import { assertRecentStrongAuth } from './step-up.js';

/** The caller's own display name and e-mail, opened from their sealed columns. */
export async function getProfile(deps: AuthDeps, principal: Principal): Promise<{ displayName: string | null; email: string | null }> {
  const u = await deps.db.selectFrom('users').select(['display_name', 'email']).where('id', '=', principal.userId).executeTakeFirstOrThrow();
  return { displayName: await openColumn(deps.sealer, 'users', 'display_name', principal.userId, u.display_name), email: await openColumn(deps.sealer, 'users', 'email', principal.userId, u.email) };
}

/**
 * Changes the caller's display name and/or e-mail (null clears the e-mail).
 * SECURITY: both are sealed under the user's key; the e-mail's keyed blind index keeps it unique.
 */
export async function updateProfile(deps: AuthDeps, principal: Principal, change: { displayName?: string; email?: string | null }): Promise<void> {
  const id = principal.userId;
  await deps.sealer.prepare(scopeOf.user(id));
  const email = change.email == null ? change.email : normaliseEmail(change.email);
  const index = email ? await emailIndex(deps, email) : null;
  if (index) {
    const other = await deps.db.selectFrom('users').select('id').where('email_index', '=', index).where('id', '!=', id).executeTakeFirst();
    if (other) throw new AppError('email_taken');
  }
  try {
    await deps.db
      .updateTable('users')
      .set({
        ...(change.displayName !== undefined ? { display_name: sealForUser(deps, id, 'users', 'display_name', id, change.displayName) } : {}),
        ...(email !== undefined ? { email: sealForUser(deps, id, 'users', 'email', id, email), email_index: index } : {}),
      })
      .where('id', '=', id)
      .execute();
  } catch (e) {
    if (isUniqueViolation(e)) throw new AppError('email_taken');
    throw e;
  }
  await recordAudit(deps.db, deps.sealer, { at: deps.clock.now(), actorId: id, action: 'profile.updated', target: id, outcome: 'success', details: { fields: Object.keys(change) } });
}

/**
 * Deletes an account (needs `user.disable` and a recent step-up): sessions end, devices are revoked,
 * factors, grants and memberships go, the name is replaced, and the user's data key is destroyed
 * (crypto-shredding): display name, e-mail, device names and addresses can never be read again,
 * not even from an old backup that lacks the key. Messages they sent stay in their conversations
 * (sealed under the conversation's key). The key is destroyed after the rows commit; a crash in
 * between is finished by deleting again.
 */
export async function deleteUser(deps: AuthDeps, actor: Principal, userId: string, address: string | null): Promise<void> {
  assertRecentStrongAuth(deps, actor);
  if (userId === actor.userId) throw new AppError('forbidden', 'you cannot delete your own account');
  const user = await deps.db.selectFrom('users').select(['id', 'username']).where('id', '=', userId).executeTakeFirst();
  if (!user) throw new AppError('not_found', 'no such user');
  await revokeSessions(deps, actor.userId, { userId }, address);
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (tx) => {
    await tx.updateTable('devices').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
    for (const t of ['authenticators', 'recovery_codes', 'passkeys', 'role_grants', 'service_tokens', 'external_identities', 'read_cursors'] as const) {
      await tx.deleteFrom(t).where('user_id', '=', userId).execute();
    }
    await tx.deleteFrom('members').where('user_id', '=', userId).execute();
    await tx
      .updateTable('users')
      .set({ username: await tombstoneUsername(tx, userId), display_name: null, email: null, email_index: null, disabled_at: now, password_hash: '!' })
      .where('id', '=', userId)
      .execute();
    await recordAudit(tx, deps.sealer, { at: now, actorId: actor.userId, action: 'user.deleted', target: userId, address, outcome: 'success' });
  });
  await deps.sealer.destroyScope(scopeOf.user(userId));
}
