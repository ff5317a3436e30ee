import type { SessionGrant } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import { randomId, randomToken, sha256Hex } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import { scopeOf } from '../keys/index.js';
import type { Tx } from '../store/index.js';
import { sealForUser } from './sealed.js';
import type { AuthDeps } from './deps.js';

/** The device a session is opened for. */
export interface DeviceDescription {
  publicKey: string;
  name: string;
  platform: string;
}

/** Loads the user's data key; await it before the transaction that calls `openSession`. */
export function prepareSession(deps: AuthDeps, userId: string): Promise<void> {
  return deps.sealer.prepare(scopeOf.user(userId));
}

/**
 * Registers (or recognises) the device and opens a session bound to it, inside the caller's transaction
 * (after `prepareSession`). Device name and addresses are sealed under the user's data key.
 * SECURITY: the token (256 random bits) is returned once; only its SHA-256 is stored. A new device is
 * trusted at once only after a full multi-factor login (aal 2) or when it is the account's first;
 * otherwise it waits for approval from one of the user's devices (`device_approval_required`).
 */
export async function openSession(
  deps: AuthDeps,
  tx: Tx,
  user: { id: string; mfa_grace_from: number },
  device: DeviceDescription,
  aal: 1 | 2 | 3,
  address: string,
  method: string | null = null,
): Promise<SessionGrant | { pendingDeviceId: string }> {
  const now = deps.clock.now();
  const { id: deviceId, approved } = await registerDevice(deps, tx, user.id, device, aal, address, now);
  // The pending device is stored (the caller commits), but no session is opened for it.
  if (!approved) return { pendingDeviceId: deviceId };
  const token = randomToken(32);
  const sessionId = randomId();
  // SECURITY-BASELINE: AAL3 sessions last at most 12 hours (AAL2: 24).
  const expiresAt = now + (aal >= 3 ? Math.min(deps.policy.sessionTtlMs, 12 * 3_600_000) : deps.policy.sessionTtlMs);
  await tx
    .insertInto('sessions')
    .values({
      id: sessionId,
      token_hash: sha256Hex(token),
      user_id: user.id,
      device_id: deviceId,
      created_at: now,
      expires_at: expiresAt,
      last_used_at: now,
      revoked_at: null,
      aal,
      strong_auth_at: aal >= 2 ? now : null,
      login_address: sealForUser(deps, user.id, 'sessions', 'login_address', sessionId, address),
      strong_auth_method: aal >= 2 ? method : null,
    })
    .execute();
  await recordAudit(tx, deps.sealer, {
    at: now,
    actorId: user.id,
    action: 'login.succeeded',
    target: sessionId,
    address,
    outcome: 'success',
    details: { deviceId, aal },
  });
  const grant: SessionGrant = { token, userId: user.id, deviceId, expiresAt: new Date(expiresAt).toISOString(), aal };
  if (aal < 2) grant.mfaEnrolmentDueBy = new Date(user.mfa_grace_from + deps.policy.mfaGraceMs).toISOString();
  return grant;
}

async function registerDevice(
  deps: AuthDeps,
  tx: Tx,
  userId: string,
  device: DeviceDescription,
  aal: number,
  address: string,
  now: number,
): Promise<{ id: string; approved: boolean }> {
  const existing = await tx
    .selectFrom('devices')
    .select(['id', 'revoked_at', 'approved_at'])
    .where('user_id', '=', userId)
    .where('public_key', '=', device.publicKey)
    .executeTakeFirst();
  if (existing?.revoked_at != null)
    throw new AppError('invalid_device_key', 'this device key was revoked; generate a new one');
  const trusted = await tx
    .selectFrom('devices')
    .select('id')
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('approved_at', 'is not', null)
    .executeTakeFirst();
  const approveNow = aal >= 2 || !trusted;
  const seal = (column: string, id: string, v: string) => sealForUser(deps, userId, 'devices', column, id, v);
  if (existing) {
    const approvedAt = existing.approved_at ?? (approveNow ? now : null);
    await tx
      .updateTable('devices')
      .set({
        last_seen_at: now,
        name: seal('name', existing.id, device.name),
        platform: device.platform,
        last_address: seal('last_address', existing.id, address),
        approved_at: approvedAt,
      })
      .where('id', '=', existing.id)
      .execute();
    return { id: existing.id, approved: approvedAt !== null };
  }
  const id = randomId();
  await tx
    .insertInto('devices')
    .values({
      id,
      user_id: userId,
      public_key: device.publicKey,
      name: seal('name', id, device.name),
      platform: device.platform,
      created_at: now,
      last_seen_at: now,
      revoked_at: null,
      approved_at: approveNow ? now : null,
      last_address: seal('last_address', id, address),
    })
    .execute();
  await recordAudit(tx, deps.sealer, {
    at: now,
    actorId: userId,
    action: approveNow ? 'device.added' : 'device.pending',
    target: id,
    address,
    outcome: 'success',
    details: { name: device.name, platform: device.platform },
  });
  return { id, approved: approveNow };
}

/** Turns a pending-device answer into the error the client sees, after the transaction committed. */
export function grantOrPending(r: SessionGrant | { pendingDeviceId: string }): SessionGrant {
  if ('pendingDeviceId' in r)
    throw new AppError('device_approval_required', undefined, { details: { deviceId: r.pendingDeviceId } });
  return r;
}
