import { AppError, type Principal } from '../core/index.js';
import { recordAudit, type AuditEntry } from '../audit/index.js';
import { openColumn, scopeOf } from '../keys/index.js';
import { isUniqueViolation } from '../store/index.js';
import type { AuthDeps } from './deps.js';
import { emailIndex, normaliseEmail, sealForUser } from './sealed.js';
import { revokeSessions } from './sessions.js';
import { tombstoneUsername } from './reserved-names.js';
import { assertRecentStrongAuth } from './step-up.js';

/** The caller's own display name and e-mail (and whether it is verified), opened from their sealed columns. */
export async function getProfile(
  deps: AuthDeps,
  principal: Principal,
): Promise<{ displayName: string | null; email: string | null; emailVerified: boolean }> {
  const u = await deps.db
    .selectFrom('users')
    .select(['display_name', 'email', 'email_verified_at'])
    .where('id', '=', principal.userId)
    .executeTakeFirstOrThrow();
  return {
    displayName: await openColumn(deps.sealer, 'users', 'display_name', principal.userId, u.display_name),
    email: await openColumn(deps.sealer, 'users', 'email', principal.userId, u.email),
    emailVerified: u.email_verified_at !== null,
  };
}

/** The account whose VERIFIED e-mail is this address, if any (unverified claims hold no index). */
export async function verifiedEmailOwner(deps: AuthDeps, email: string): Promise<string | undefined> {
  const row = await deps.db
    .selectFrom('users')
    .select('id')
    .where('email_index', '=', await emailIndex(deps, email))
    .executeTakeFirst();
  return row?.id;
}

/**
 * Changes the caller's display name and/or e-mail (null clears the e-mail).
 * SECURITY: both are sealed under the user's key. SECURITY (S14): a new e-mail is an unverified claim:
 * it gets no blind index, so it is neither unique nor found by an admin's search until it is verified
 * (`verifyEmail`, or the IdP's `email_verified`); only an address another account has verified is
 * refused (`email_taken`). Setting the same verified address again keeps it verified.
 */
export async function updateProfile(
  deps: AuthDeps,
  principal: Principal,
  change: { displayName?: string; email?: string | null },
): Promise<void> {
  const id = principal.userId;
  await deps.sealer.prepare(scopeOf.user(id));
  const email = change.email == null ? change.email : normaliseEmail(change.email);
  let emailChange = {};
  if (email !== undefined) {
    const owner = email ? await verifiedEmailOwner(deps, email) : undefined;
    if (owner !== undefined && owner !== id) throw new AppError('email_taken');
    // Re-stating one's own verified address changes nothing; any other address starts unverified.
    if (owner === undefined)
      emailChange = {
        email: sealForUser(deps, id, 'users', 'email', id, email),
        email_index: null,
        email_verified_at: null,
      };
  }
  const set = {
    ...(change.displayName !== undefined
      ? { display_name: sealForUser(deps, id, 'users', 'display_name', id, change.displayName) }
      : {}),
    ...emailChange,
  };
  await deps.db.transaction().execute(async (tx) => {
    if (Object.keys(set).length > 0) await tx.updateTable('users').set(set).where('id', '=', id).execute();
    await recordAudit(tx, deps.sealer, {
      at: deps.clock.now(),
      actorId: id,
      action: 'profile.updated',
      target: id,
      outcome: 'success',
      details: { fields: Object.keys(change) },
    });
  });
}

/** Verifies the address and writes its audit record in one transaction; false when another account won it. */
async function markVerified(deps: AuthDeps, userId: string, email: string, audit: AuditEntry): Promise<boolean> {
  const index = await emailIndex(deps, email);
  try {
    await deps.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('users')
        .set({ email_index: index, email_verified_at: deps.clock.now() })
        .where('id', '=', userId)
        .execute();
      await recordAudit(tx, deps.sealer, audit);
    });
    return true;
  } catch (e) {
    if (isUniqueViolation(e)) return false; // another account verified this address first
    throw e;
  }
}

/**
 * Marks a user's current e-mail address as verified (an administrator who checked it out of band).
 * From then on it is unique and searchable. `email_taken` when another account holds it verified.
 */
export async function verifyEmail(
  deps: AuthDeps,
  actor: Principal,
  userId: string,
  address: string | null,
): Promise<{ email: string }> {
  const u = await deps.db.selectFrom('users').select(['id', 'email']).where('id', '=', userId).executeTakeFirst();
  if (!u) throw new AppError('not_found', 'no such user');
  const email = await openColumn(deps.sealer, 'users', 'email', userId, u.email);
  if (!email) throw new AppError('not_found', 'this user has no e-mail address to verify');
  if (
    !(await markVerified(deps, userId, email, {
      at: deps.clock.now(),
      actorId: actor.userId,
      action: 'email.verified',
      target: userId,
      address,
      outcome: 'success',
      details: { by: 'admin' },
    }))
  )
    throw new AppError('email_taken');
  return { email };
}

/**
 * Records the e-mail an identity provider asserted with `email_verified: true` for a signed-in user:
 * it becomes the user's verified address unless another account holds it verified (then nothing changes
 * and the conflict is audited). Addresses the IdP does not say it verified are ignored.
 */
export async function applyIdpEmail(deps: AuthDeps, userId: string, claims: Record<string, unknown>): Promise<void> {
  if (
    claims.email_verified !== true ||
    typeof claims.email !== 'string' ||
    !/^[^@\s]+@[^@\s]+$/.test(claims.email) ||
    claims.email.length > 254
  )
    return;
  const email = normaliseEmail(claims.email);
  await deps.sealer.prepare(scopeOf.user(userId));
  const owner = await verifiedEmailOwner(deps, email);
  if (owner === userId) return;
  const now = deps.clock.now();
  if (owner === undefined) {
    await deps.db
      .updateTable('users')
      .set({
        email: sealForUser(deps, userId, 'users', 'email', userId, email),
        email_index: null,
        email_verified_at: null,
      })
      .where('id', '=', userId)
      .execute();
    if (
      await markVerified(deps, userId, email, {
        at: now,
        actorId: userId,
        action: 'email.verified',
        target: userId,
        outcome: 'success',
        details: { by: 'idp' },
      })
    )
      return;
  }
  await recordAudit(deps.db, deps.sealer, {
    at: now,
    actorId: userId,
    action: 'email.verify_conflict',
    target: userId,
    outcome: 'failure',
    details: { by: 'idp' },
  });
}

/**
 * Deletes an account (needs `user.disable` and a recent step-up): sessions end, devices are revoked,
 * factors, grants and memberships go, the name is replaced, and the user's data key is destroyed
 * (crypto-shredding): display name, e-mail, device names and addresses can never be read again,
 * not even from an old backup that lacks the key. Messages they sent stay in their conversations
 * (sealed under the conversation's key). The key is destroyed after the rows commit; a crash in
 * between is finished by deleting again.
 */
export async function deleteUser(
  deps: AuthDeps,
  actor: Principal,
  userId: string,
  address: string | null,
): Promise<void> {
  assertRecentStrongAuth(deps, actor);
  if (userId === actor.userId) throw new AppError('forbidden', 'you cannot delete your own account');
  const user = await deps.db.selectFrom('users').select(['id', 'username']).where('id', '=', userId).executeTakeFirst();
  if (!user) throw new AppError('not_found', 'no such user');
  await revokeSessions(deps, actor.userId, { userId }, address);
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (tx) => {
    await tx
      .updateTable('devices')
      .set({ revoked_at: now })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
    for (const t of [
      'authenticators',
      'recovery_codes',
      'passkeys',
      'role_grants',
      'service_tokens',
      'external_identities',
      'read_cursors',
    ] as const) {
      await tx.deleteFrom(t).where('user_id', '=', userId).execute();
    }
    await tx.deleteFrom('members').where('user_id', '=', userId).execute();
    await tx
      .updateTable('users')
      .set({
        username: await tombstoneUsername(tx, userId),
        display_name: null,
        email: null,
        email_index: null,
        email_verified_at: null,
        disabled_at: now,
        password_hash: '!',
      })
      .where('id', '=', userId)
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: actor.userId,
      action: 'user.deleted',
      target: userId,
      address,
      outcome: 'success',
    });
  });
  await deps.sealer.destroyScope(scopeOf.user(userId));
}
