import type { LoginRequest, LoginResponse } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import { hashPassword, isValidEd25519PublicKey, randomId, randomToken, sha256Hex, verifyPassword } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import type { Tx } from '../store/index.js';
import type { AuthDeps } from './deps.js';

let dummyHash: Promise<string> | undefined;

/**
 * Password login that registers or reuses the device named by its public key and opens a session.
 * SECURITY: an unknown user, a disabled user and a wrong password all give `auth_failed` after the same
 * argon2 work (a dummy hash is verified for unknown users), so neither the answer nor its timing tells
 * whether the account exists. The token (256 random bits) is returned once; only its SHA-256 is kept.
 */
export async function login(deps: AuthDeps, input: LoginRequest, address: string): Promise<LoginResponse> {
  deps.limiter.check('login.address', address);
  deps.limiter.check('login.account', input.username.toLowerCase());
  const publicKey = Buffer.from(input.device.publicKey, 'base64url');
  if (!isValidEd25519PublicKey(publicKey)) throw new AppError('invalid_device_key');

  const user = await deps.db.selectFrom('users').selectAll().where('username', '=', input.username).executeTakeFirst();
  dummyHash ??= hashPassword(randomToken(), deps.policy.argon2);
  const ok = await verifyPassword(user?.password_hash ?? (await dummyHash), input.password);
  const now = deps.clock.now();
  if (!user || !ok || user.disabled_at !== null) {
    await recordAudit(deps.db, { at: now, actorId: user?.id ?? null, action: 'login.failed', address, outcome: 'failure' });
    throw new AppError('auth_failed', 'wrong user name or password');
  }

  const token = randomToken(32);
  const sessionId = randomId();
  const expiresAt = now + deps.policy.sessionTtlMs;
  const deviceId = await deps.db.transaction().execute(async (tx) => {
    const id = await registerDevice(tx, user.id, input, now);
    await tx
      .insertInto('sessions')
      .values({ id: sessionId, token_hash: sha256Hex(token), user_id: user.id, device_id: id, created_at: now, expires_at: expiresAt, last_used_at: now, revoked_at: null })
      .execute();
    await recordAudit(tx, { at: now, actorId: user.id, action: 'login.succeeded', target: sessionId, address, outcome: 'success', details: { deviceId: id } });
    return id;
  });
  return { token, userId: user.id, deviceId, expiresAt: new Date(expiresAt).toISOString() };
}

async function registerDevice(tx: Tx, userId: string, input: LoginRequest, now: number): Promise<string> {
  const existing = await tx
    .selectFrom('devices')
    .select(['id', 'revoked_at'])
    .where('user_id', '=', userId)
    .where('public_key', '=', input.device.publicKey)
    .executeTakeFirst();
  if (existing) {
    if (existing.revoked_at !== null) throw new AppError('invalid_device_key', 'this device key was revoked; generate a new one');
    await tx.updateTable('devices').set({ last_seen_at: now, name: input.device.name, platform: input.device.platform }).where('id', '=', existing.id).execute();
    return existing.id;
  }
  const id = randomId();
  await tx
    .insertInto('devices')
    .values({ id, user_id: userId, public_key: input.device.publicKey, name: input.device.name, platform: input.device.platform, created_at: now, last_seen_at: now, revoked_at: null })
    .execute();
  return id;
}
