import { AppError, type Principal } from '../core/index.js';
import { recordAudit } from '../audit/index.js';
import type { AuthDeps } from './deps.js';
import { hasActiveFactor } from './factors.js';
import { publishRevoked, revokeSessionsInTx } from './sessions.js';
import { openColumn } from '../keys/index.js';
import { assertRecentStrongAuth } from './step-up.js';

/** The caller's devices: name, platform, first and last seen, last address, state. */
export async function listMyDevices(deps: AuthDeps, principal: Principal) {
  const rows = await deps.db
    .selectFrom('devices')
    .selectAll()
    .where('user_id', '=', principal.userId)
    .orderBy('created_at')
    .execute();
  return Promise.all(
    rows.map(async (d) => ({
      id: d.id,
      name: (await openColumn(deps.sealer, 'devices', 'name', d.id, d.name)) ?? '',
      platform: d.platform,
      current: d.id === principal.deviceId,
      firstSeen: new Date(d.created_at).toISOString(),
      lastSeen: new Date(d.last_seen_at).toISOString(),
      lastAddress: await openColumn(deps.sealer, 'devices', 'last_address', d.id, d.last_address),
      state: d.revoked_at !== null ? 'revoked' : d.approved_at === null ? 'pending' : 'trusted',
    })),
  );
}

/** Approves one of the caller's pending devices from a device that is already trusted. */
export async function approveDevice(deps: AuthDeps, principal: Principal, deviceId: string): Promise<void> {
  if (await hasActiveFactor(deps.db, principal.userId)) assertRecentStrongAuth(deps, principal);
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (tx) => {
    const r = await tx
      .updateTable('devices')
      .set({ approved_at: now })
      .where('id', '=', deviceId)
      .where('user_id', '=', principal.userId)
      .where('approved_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new AppError('not_found', 'no pending device with this id');
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: principal.userId,
      action: 'device.approved',
      target: deviceId,
      outcome: 'success',
      details: { by: principal.deviceId },
    });
  });
}

/**
 * Revokes a device: its key can no longer log in and its sessions end (sockets close at once).
 * Own devices need a recent step-up when the account has a second factor; any device needs
 * `device.revoke_any` (checked by the caller's route).
 */
export async function revokeDevice(
  deps: AuthDeps,
  actor: Principal,
  deviceId: string,
  opts: { any: boolean },
): Promise<void> {
  const d = await deps.db
    .selectFrom('devices')
    .select(['id', 'user_id', 'revoked_at'])
    .where('id', '=', deviceId)
    .executeTakeFirst();
  if (!d || d.revoked_at !== null || (!opts.any && d.user_id !== actor.userId))
    throw new AppError('not_found', 'no such device');
  if (opts.any || (await hasActiveFactor(deps.db, actor.userId))) assertRecentStrongAuth(deps, actor);
  const now = deps.clock.now();
  // The revocation, its audit record and the end of the device's sessions commit together.
  const revoked = await deps.db.transaction().execute(async (tx) => {
    await tx.updateTable('devices').set({ revoked_at: now }).where('id', '=', deviceId).execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: actor.userId,
      action: 'device.revoked',
      target: deviceId,
      outcome: 'success',
      details: { owner: d.user_id },
    });
    return revokeSessionsInTx(tx, deps, actor.userId, { deviceId }, 'admin', null);
  });
  publishRevoked(deps, revoked);
}
