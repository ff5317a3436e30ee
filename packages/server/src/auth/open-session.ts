import type { SessionGrant } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import { randomId, randomToken, sha256Hex } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import type { Tx } from '../store/index.js';
import type { AuthDeps } from './deps.js';

/** The device a session is opened for. */
export interface DeviceDescription {
  publicKey: string;
  name: string;
  platform: string;
}

/**
 * Registers (or recognises) the device and opens a session bound to it, inside the caller's transaction.
 * SECURITY: the token (256 random bits) is returned once; only its SHA-256 is stored.
 */
export async function openSession(
  deps: AuthDeps,
  tx: Tx,
  user: { id: string; mfa_grace_from: number },
  device: DeviceDescription,
  aal: 1 | 2,
  address: string,
): Promise<SessionGrant> {
  const now = deps.clock.now();
  const deviceId = await registerDevice(tx, user.id, device, now);
  const token = randomToken(32);
  const sessionId = randomId();
  const expiresAt = now + deps.policy.sessionTtlMs;
  await tx
    .insertInto('sessions')
    .values({
      id: sessionId, token_hash: sha256Hex(token), user_id: user.id, device_id: deviceId, created_at: now, expires_at: expiresAt,
      last_used_at: now, revoked_at: null, aal, strong_auth_at: aal >= 2 ? now : null,
    })
    .execute();
  await recordAudit(tx, { at: now, actorId: user.id, action: 'login.succeeded', target: sessionId, address, outcome: 'success', details: { deviceId, aal } });
  const grant: SessionGrant = { token, userId: user.id, deviceId, expiresAt: new Date(expiresAt).toISOString(), aal };
  if (aal < 2) grant.mfaEnrolmentDueBy = new Date(user.mfa_grace_from + deps.policy.mfaGraceMs).toISOString();
  return grant;
}

async function registerDevice(tx: Tx, userId: string, device: DeviceDescription, now: number): Promise<string> {
  const existing = await tx
    .selectFrom('devices')
    .select(['id', 'revoked_at'])
    .where('user_id', '=', userId)
    .where('public_key', '=', device.publicKey)
    .executeTakeFirst();
  if (existing) {
    if (existing.revoked_at !== null) throw new AppError('invalid_device_key', 'this device key was revoked; generate a new one');
    await tx.updateTable('devices').set({ last_seen_at: now, name: device.name, platform: device.platform }).where('id', '=', existing.id).execute();
    return existing.id;
  }
  const id = randomId();
  await tx
    .insertInto('devices')
    .values({ id, user_id: userId, public_key: device.publicKey, name: device.name, platform: device.platform, created_at: now, last_seen_at: now, revoked_at: null })
    .execute();
  return id;
}
