import { AppError, type Principal } from '../core/index.js';
import { randomId } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import { assertAccount } from './assert.js';
import type { RbacDeps } from './deps.js';
import { openColumn, sealInTable } from '../keys/index.js';
import { accountCan } from './permissions.js';
import { assertIndependent, related, stillHolds } from './two-person.js';
import { userExists } from './user-exists.js';

/** How long a two-person request waits for its second person. */
export const APPROVAL_TTL_MS = 24 * 3_600_000;

/**
 * Two-person rule, step 1: a holder of the action's permission asks for a dangerous action.
 * Nothing happens until a different holder approves it.
 */
export async function requestApproval(
  deps: RbacDeps,
  actor: Principal,
  action: string,
  params: Record<string, unknown>,
  reason: string,
): Promise<string> {
  const spec = deps.actions[action];
  if (!spec) throw new AppError('bad_request', `unknown action ${action}`);
  assertAccount(actor, spec.permission);
  deps.assertStepUp(actor);
  // An action aimed at a user needs that user to exist: no request (and no audit) for nobody.
  if (typeof params.userId === 'string') await userExists(deps, params.userId, { anyState: true });
  const id = randomId();
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (tx) => {
    await tx
      .insertInto('approvals')
      .values({
        id,
        action,
        params: sealInTable(deps.sealer, 'approvals', 'params', id, JSON.stringify(params)),
        reason: sealInTable(deps.sealer, 'approvals', 'reason', id, reason),
        requested_by: actor.userId,
        approved_by: null,
        status: 'pending',
        created_at: now,
        expires_at: now + APPROVAL_TTL_MS,
        decided_at: null,
      })
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: actor.userId,
      action: 'approval.requested',
      target: id,
      outcome: 'success',
      details: { action, params, reason },
    });
  });
  return id;
}

/**
 * Two-person rule, step 2: a second holder of the permission approves, and the action runs.
 * SECURITY: the approver differs from the requester and is independent of them (neither invited the
 * other nor granted the other a role in the last 30 days, S4), is not the person the request is about,
 * holds the permission, and has stepped up; the requester still holds it too; the request is claimed
 * with a conditional update so it runs at most once.
 */
export async function approve(deps: RbacDeps, approver: Principal, id: string): Promise<void> {
  const row = await deps.db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AppError('not_found', 'no such request');
  const spec = deps.actions[row.action];
  if (!spec) throw new AppError('bad_request', `unknown action ${row.action}`);
  assertAccount(approver, spec.permission);
  deps.assertStepUp(approver);
  const now = deps.clock.now();
  await assertIndependent(deps.db, row.requested_by, approver.userId, now);
  if (row.status !== 'pending') throw new AppError('already_decided');
  const params = JSON.parse(await openColumn(deps.sealer, 'approvals', 'params', row.id, row.params)) as Record<
    string,
    unknown
  >;
  if (row.expires_at <= now) {
    await deps.db
      .updateTable('approvals')
      .set({ status: 'expired', decided_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
    throw new AppError('already_decided', 'the request expired; ask again');
  }
  // SECURITY (S3): the person a request is about (the grantee of a role grant, the user whose factors
  // are reset) is never its second person.
  if (params.userId === approver.userId)
    throw new AppError('forbidden', 'a request about you needs another person to approve it');
  if (!(await stillHolds(deps.db, row.requested_by, spec.permission, now)))
    throw new AppError('forbidden', `the requester no longer holds ${spec.permission}; they must ask again`);
  const claimed = await deps.db
    .updateTable('approvals')
    .set({ status: 'executed', approved_by: approver.userId, decided_at: now })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) throw new AppError('already_decided');
  try {
    await spec.run(params, { requestedBy: row.requested_by, approvedBy: approver.userId, approvalId: row.id });
  } catch (e) {
    await deps.db.transaction().execute(async (tx) => {
      await tx.updateTable('approvals').set({ status: 'failed' }).where('id', '=', id).execute();
      await recordAudit(tx, deps.sealer, {
        at: now,
        actorId: approver.userId,
        action: 'approval.failed',
        target: id,
        outcome: 'failure',
        details: { action: row.action },
      });
    });
    throw e;
  }
  // The approved action audited itself in its own transaction (role.granted, factor.reset, with both
  // people); this record only closes the request, whose status was claimed before the run.
  await recordAudit(deps.db, deps.sealer, {
    at: now,
    actorId: approver.userId,
    action: 'approval.executed',
    target: id,
    outcome: 'success',
    details: { action: row.action, requestedBy: row.requested_by },
  });
}

/** Requests waiting for a second person that the caller could approve. */
export async function pendingApprovals(deps: RbacDeps, actor: Principal) {
  const now = deps.clock.now();
  const rows = await deps.db
    .selectFrom('approvals')
    .selectAll()
    .where('status', '=', 'pending')
    .where('expires_at', '>', now)
    .orderBy('created_at')
    .execute();
  const mine = [];
  for (const r of rows) {
    const spec = deps.actions[r.action];
    if (
      spec === undefined ||
      r.requested_by === actor.userId ||
      !accountCan(actor.roles, spec.permission) ||
      (await related(deps.db, r.requested_by, actor.userId, now))
    )
      continue;
    const params = JSON.parse(await openColumn(deps.sealer, 'approvals', 'params', r.id, r.params)) as Record<
      string,
      unknown
    >;
    if (params.userId === actor.userId) continue; // a request about the caller is for someone else to approve
    mine.push({
      id: r.id,
      action: r.action,
      params,
      reason: await openColumn(deps.sealer, 'approvals', 'reason', r.id, r.reason),
      requestedBy: r.requested_by,
      expiresAt: new Date(r.expires_at).toISOString(),
    });
  }
  return mine;
}
