import { AppError, type Principal } from '../core/index.js';
import { randomId } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import { assertAccount } from './assert.js';
import type { RbacDeps } from './deps.js';
import { openColumn, sealInTable } from '../keys/index.js';
import { accountCan, type RoleName } from './permissions.js';
import { assertIndependent, ROLE_GRANT_ACTION, TWO_PERSON_ROLES } from './two-person.js';
import { APPROVAL_TTL_MS, requestApproval } from './approvals.js';
import { userExists } from './user-exists.js';

/** Longest just-in-time elevation. */
export const MAX_ELEVATION_MINUTES = 8 * 60;

/** What a direct grant did: the grant's id, or the two-person request it now waits on (S3). */
export type GrantOutcome = { id: string } | { pendingApproval: string };

/**
 * Grants a standing role. Needs `role.grant` and a recent step-up.
 * SECURITY: nobody grants a role to themselves.
 * SECURITY (S3): org_admin and security_admin are never granted by one person: the grant becomes a
 * two-person request (`role.grant` action) that a second, independent holder of `role.grant` approves
 * (`completeRoleGrant`); until then the user holds nothing new.
 */
export async function grantRole(
  deps: RbacDeps,
  actor: Principal,
  userId: string,
  role: RoleName,
  reason: string,
): Promise<GrantOutcome> {
  assertAccount(actor, 'role.grant');
  deps.assertStepUp(actor);
  if (userId === actor.userId) throw new AppError('forbidden', 'you cannot grant a role to yourself');
  await userExists(deps, userId);
  if (TWO_PERSON_ROLES.has(role))
    return { pendingApproval: await requestApproval(deps, actor, ROLE_GRANT_ACTION, { userId, role, reason }, reason) };
  return {
    id: await insertStandingGrant(deps, { userId, role, reason, requestedBy: actor.userId, approvedBy: actor.userId }),
  };
}

/**
 * Runs when a second person approves a two-person role grant: the grant is made, recording both.
 * SECURITY (S3): `approve` has checked the approver (permission, step-up, independence, not the
 * grantee); this checks again that the role is an administrative one, that neither person is the
 * grantee, and that the grantee is still an enabled account.
 */
export async function completeRoleGrant(
  deps: RbacDeps,
  params: Record<string, unknown>,
  actors: { requestedBy: string; approvedBy: string; approvalId: string },
): Promise<void> {
  const { userId, role, reason } = params;
  if (
    typeof userId !== 'string' ||
    typeof role !== 'string' ||
    !TWO_PERSON_ROLES.has(role) ||
    typeof reason !== 'string'
  )
    throw new AppError('bad_request', 'not a role grant request');
  if (userId === actors.requestedBy || userId === actors.approvedBy)
    throw new AppError('forbidden', 'nobody takes part in their own role grant');
  await userExists(deps, userId);
  await insertStandingGrant(deps, { userId, role: role as RoleName, reason, ...actors });
}

/** Writes a standing grant and audits it as `role.granted`, in one transaction. */
async function insertStandingGrant(
  deps: RbacDeps,
  g: { userId: string; role: RoleName; reason: string; requestedBy: string; approvedBy: string; approvalId?: string },
): Promise<string> {
  const id = randomId();
  const now = deps.clock.now();
  const twoPerson = g.approvalId !== undefined ? { approvedBy: g.approvedBy, approvalId: g.approvalId } : {};
  await deps.db.transaction().execute(async (tx) => {
    await tx
      .insertInto('role_grants')
      .values({
        id,
        user_id: g.userId,
        role: g.role,
        kind: 'standing',
        reason: sealInTable(deps.sealer, 'role_grants', 'reason', id, g.reason),
        requested_by: g.requestedBy,
        approved_by: g.approvedBy,
        approved_at: now,
        created_at: now,
        expires_at: null,
        revoked_at: null,
      })
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: g.requestedBy,
      action: 'role.granted',
      target: `${g.userId}/${g.role}`,
      outcome: 'success',
      details: { reason: g.reason, kind: 'standing', ...twoPerson },
    });
  });
  return id;
}

/**
 * Revokes every active grant of `role` to the user. Needs `role.grant` and a recent step-up.
 * SECURITY (S3): revoking is as sensitive as granting (a stolen session would strip the defenders).
 */
export async function revokeRole(deps: RbacDeps, actor: Principal, userId: string, role: RoleName): Promise<number> {
  assertAccount(actor, 'role.grant');
  deps.assertStepUp(actor);
  await userExists(deps, userId, { anyState: true });
  const now = deps.clock.now();
  return deps.db.transaction().execute(async (tx) => {
    const r = await tx
      .updateTable('role_grants')
      .set({ revoked_at: now })
      .where('user_id', '=', userId)
      .where('role', '=', role)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: actor.userId,
      action: 'role.revoked',
      target: `${userId}/${role}`,
      outcome: 'success',
    });
    return Number(r.numUpdatedRows);
  });
}

/** Asks for a role for a bounded time, with a reason; another person must approve it. */
export async function requestElevation(
  deps: RbacDeps,
  actor: Principal,
  role: RoleName,
  minutes: number,
  reason: string,
): Promise<string> {
  assertAccount(actor, 'elevation.request');
  if (minutes < 1 || minutes > MAX_ELEVATION_MINUTES)
    throw new AppError('bad_request', `an elevation lasts 1 to ${MAX_ELEVATION_MINUTES} minutes`);
  const id = randomId();
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (tx) => {
    // The expiry is fixed at approval time; until then, keep the asked duration in expires_at - created_at.
    await tx
      .insertInto('role_grants')
      .values({
        id,
        user_id: actor.userId,
        role,
        kind: 'jit',
        reason: sealInTable(deps.sealer, 'role_grants', 'reason', id, reason),
        requested_by: actor.userId,
        approved_by: null,
        approved_at: null,
        created_at: now,
        expires_at: now + minutes * 60_000,
        revoked_at: null,
      })
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: actor.userId,
      action: 'elevation.requested',
      target: id,
      outcome: 'success',
      details: { role, minutes, reason },
    });
  });
  return id;
}

/**
 * Approves a pending elevation: it starts now and ends by itself after the asked duration.
 * SECURITY: the approver is never the requester and is independent of them (S4), holds
 * `elevation.approve` and either the requested role itself or `role.grant` (S4: a security admin
 * cannot hand out org_admin), and has stepped up; a request older than 24 hours has expired (S4).
 */
export async function approveElevation(
  deps: RbacDeps,
  approver: Principal,
  grantId: string,
): Promise<{ expiresAt: number }> {
  assertAccount(approver, 'elevation.approve');
  deps.assertStepUp(approver);
  const g = await deps.db
    .selectFrom('role_grants')
    .selectAll()
    .where('id', '=', grantId)
    .where('kind', '=', 'jit')
    .executeTakeFirst();
  if (!g || g.approved_at !== null || g.revoked_at !== null)
    throw new AppError('not_found', 'no pending elevation with this id');
  if (g.user_id === approver.userId) throw new AppError('forbidden', 'another person must approve your elevation');
  if (!approver.roles.includes(g.role) && !accountCan(approver.roles, 'role.grant'))
    throw new AppError('forbidden', `only a holder of ${g.role} or of role.grant approves an elevation to it`);
  const now = deps.clock.now();
  if (now - g.created_at >= APPROVAL_TTL_MS) {
    await deps.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('role_grants')
        .set({ revoked_at: now })
        .where('id', '=', grantId)
        .where('approved_at', 'is', null)
        .execute();
      await recordAudit(tx, deps.sealer, {
        at: now,
        actorId: approver.userId,
        action: 'elevation.expired',
        target: grantId,
        outcome: 'failure',
        details: { userId: g.user_id, role: g.role },
      });
    });
    throw new AppError('already_decided', 'the elevation request expired; ask again');
  }
  await assertIndependent(deps.db, g.user_id, approver.userId, now);
  const expiresAt = now + ((g.expires_at ?? now) - g.created_at);
  await deps.db.transaction().execute(async (tx) => {
    const r = await tx
      .updateTable('role_grants')
      .set({ approved_by: approver.userId, approved_at: now, expires_at: expiresAt })
      .where('id', '=', grantId)
      .where('approved_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new AppError('already_decided');
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: approver.userId,
      action: 'elevation.approved',
      target: grantId,
      outcome: 'success',
      details: { userId: g.user_id, role: g.role, expiresAt },
    });
  });
  return { expiresAt };
}

/** Grants of a user (admins with `user.list`, or the user themselves). */
export async function listGrants(deps: RbacDeps, actor: Principal, userId: string) {
  if (userId !== actor.userId) assertAccount(actor, 'user.list');
  await userExists(deps, userId, { anyState: true });
  const now = deps.clock.now();
  const rows = await deps.db
    .selectFrom('role_grants')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
  return Promise.all(
    rows.map(async (g) => ({
      id: g.id,
      role: g.role,
      kind: g.kind,
      reason: await openColumn(deps.sealer, 'role_grants', 'reason', g.id, g.reason),
      state:
        g.revoked_at !== null
          ? 'revoked'
          : g.approved_at === null
            ? now - g.created_at >= APPROVAL_TTL_MS
              ? 'expired'
              : 'pending'
            : g.expires_at !== null && g.expires_at <= now
              ? 'expired'
              : 'active',
      approvedBy: g.approved_by,
      expiresAt: g.expires_at === null || g.approved_at === null ? null : new Date(g.expires_at).toISOString(),
    })),
  );
}

/** Pending elevations others asked for (for approvers). */
export async function pendingElevations(deps: RbacDeps, actor: Principal) {
  assertAccount(actor, 'elevation.approve');
  const rows = await deps.db
    .selectFrom('role_grants')
    .selectAll()
    .where('kind', '=', 'jit')
    .where('approved_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('user_id', '!=', actor.userId)
    .where('created_at', '>', deps.clock.now() - APPROVAL_TTL_MS)
    .execute();
  return Promise.all(
    rows.map(async (g) => ({
      id: g.id,
      userId: g.user_id,
      role: g.role,
      reason: await openColumn(deps.sealer, 'role_grants', 'reason', g.id, g.reason),
      minutes: Math.round(((g.expires_at ?? g.created_at) - g.created_at) / 60_000),
    })),
  );
}
