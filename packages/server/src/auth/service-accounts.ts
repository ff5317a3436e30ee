import type { ServiceTokenRequest } from '@palisade/protocol';
import {
  AppError,
  type DeviceId,
  type Principal,
  type ServiceScope,
  type SessionId,
  type UserId,
} from '../core/index.js';
import { constantTimeEqual, hashPassword, randomId, randomToken, sha256Hex } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import { isUniqueViolation } from '../store/index.js';
import type { AuthDeps } from './deps.js';
import { assertRecentStrongAuth } from './step-up.js';
import { sealForUser } from './sealed.js';
import { scopeOf } from '../keys/index.js';
import { addBotDevice, assertBotDeviceKey, revokeBotDevice } from './service-token-device.js';

/** Prefix that tells service tokens from session tokens. */
export const SERVICE_TOKEN_PREFIX = 'svc_';

/** Creates a service account (a `bot.<name>` user with no password login). Needs `service_account.manage`. */
export async function createServiceAccount(
  deps: AuthDeps,
  actor: Principal,
  name: string,
): Promise<{ id: string; username: string }> {
  const id = randomId();
  const username = `bot.${name}`;
  const now = deps.clock.now();
  await deps.sealer.prepare(scopeOf.user(id));
  // The password hash is of a random value nobody knows: password login is impossible.
  const passwordHash = await hashPassword(randomToken(), deps.policy.argon2);
  try {
    await deps.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('users')
        .values({
          id,
          username,
          display_name: sealForUser(deps, id, 'users', 'display_name', id, name),
          password_hash: passwordHash,
          role: 'service',
          disabled_at: null,
          created_at: now,
          mfa_grace_from: now,
        })
        .execute();
      await recordAudit(tx, deps.sealer, {
        at: now,
        actorId: actor.userId,
        action: 'service_account.created',
        target: id,
        outcome: 'success',
        details: { username },
      });
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw new AppError('username_taken');
    throw e;
  }
  return { id, username };
}

/**
 * Issues a token for a service account: explicit scopes, a mandatory expiry, an optional source-address
 * allowlist and its own rate. Several tokens may be valid at once, so rotation needs no downtime.
 * Needs a recent step-up. The token is shown once; only its SHA-256 is stored. With `devicePublicKey` the
 * token is bound to a new trusted device of the bot (same transaction, audited): see `addBotDevice`.
 */
export async function issueServiceToken(
  deps: AuthDeps,
  actor: Principal,
  serviceUserId: string,
  req: ServiceTokenRequest,
) {
  assertRecentStrongAuth(deps, actor);
  const svc = await deps.db
    .selectFrom('users')
    .select(['id', 'role', 'disabled_at'])
    .where('id', '=', serviceUserId)
    .executeTakeFirst();
  if (!svc || svc.role !== 'service' || svc.disabled_at !== null)
    throw new AppError('not_found', 'no such service account');
  if (req.devicePublicKey !== undefined) {
    assertBotDeviceKey(req.devicePublicKey);
    await deps.sealer.prepare(scopeOf.user(serviceUserId));
  }
  const id = randomId();
  const token = `${SERVICE_TOKEN_PREFIX}${randomToken(32)}`;
  const now = deps.clock.now();
  const expiresAt = now + req.expiresInDays * 86_400_000;
  const deviceId = await deps.db.transaction().execute(async (tx) => {
    const device =
      req.devicePublicKey === undefined
        ? null
        : await addBotDevice(deps, tx, actor.userId, serviceUserId, id, req.devicePublicKey, now);
    await tx
      .insertInto('service_tokens')
      .values({
        id,
        user_id: serviceUserId,
        token_hash: sha256Hex(token),
        scopes: JSON.stringify(req.scopes),
        allowed_addresses: req.allowedAddresses ? JSON.stringify(req.allowedAddresses) : null,
        rate_per_minute: req.ratePerMinute,
        created_by: actor.userId,
        created_at: now,
        expires_at: expiresAt,
        revoked_at: null,
        last_used_at: null,
        device_id: device,
      })
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: actor.userId,
      action: 'service_token.issued',
      target: id,
      outcome: 'success',
      details: { serviceUserId, scopes: req.scopes, expiresInDays: req.expiresInDays, deviceId: device },
    });
    return device;
  });
  return { id, token, expiresAt: new Date(expiresAt).toISOString(), ...(deviceId ? { deviceId } : {}) };
}

/** Revokes one token of a service account, and the device it is bound to (same transaction). */
export async function revokeServiceToken(
  deps: AuthDeps,
  actor: Principal,
  serviceUserId: string,
  tokenId: string,
): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (tx) => {
    const r = await tx
      .updateTable('service_tokens')
      .set({ revoked_at: now })
      .where('id', '=', tokenId)
      .where('user_id', '=', serviceUserId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new AppError('not_found', 'no such active token');
    const bound = await tx
      .selectFrom('service_tokens')
      .select('device_id')
      .where('id', '=', tokenId)
      .executeTakeFirst();
    if (bound?.device_id) await revokeBotDevice(deps, tx, actor.userId, bound.device_id, now);
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: actor.userId,
      action: 'service_token.revoked',
      target: tokenId,
      outcome: 'success',
    });
  });
}

/** Service accounts with their tokens (never the tokens themselves). */
export async function listServiceAccounts(deps: AuthDeps) {
  const users = await deps.db
    .selectFrom('users')
    .select(['id', 'username', 'disabled_at', 'created_at'])
    .where('role', '=', 'service')
    .orderBy('created_at')
    .execute();
  const tokens = await deps.db
    .selectFrom('service_tokens')
    .select(['id', 'user_id', 'scopes', 'expires_at', 'revoked_at', 'last_used_at', 'device_id'])
    .execute();
  const now = deps.clock.now();
  return users.map((u) => ({
    id: u.id,
    username: u.username,
    disabled: u.disabled_at !== null,
    tokens: tokens
      .filter((t) => t.user_id === u.id)
      .map((t) => ({
        id: t.id,
        scopes: JSON.parse(t.scopes) as unknown,
        expiresAt: new Date(t.expires_at).toISOString(),
        state: t.revoked_at !== null ? 'revoked' : t.expires_at <= now ? 'expired' : 'active',
        lastUsedAt: t.last_used_at === null ? null : new Date(t.last_used_at).toISOString(),
        deviceId: t.device_id,
      })),
  }));
}

/** Resolves a service token to its principal (see {@link authenticateServiceTokenDevice}). */
export async function authenticateServiceToken(deps: AuthDeps, token: string, address: string): Promise<Principal> {
  return (await authenticateServiceTokenDevice(deps, token, address)).principal;
}

/**
 * Resolves a service token, with the public key of the device it is bound to (null when unbound): the
 * caller must then check the request's device proof against it. SECURITY: looked up by SHA-256 and
 * compared in constant time; refused when revoked, expired, used from an address not on its allowlist,
 * its account is disabled or its bound device revoked; rate-limited per token; every use is audited.
 */
export async function authenticateServiceTokenDevice(
  deps: AuthDeps,
  token: string,
  address: string,
): Promise<{ principal: Principal; devicePublicKey: string | null }> {
  const hash = sha256Hex(token);
  const row = await deps.db
    .selectFrom('service_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .leftJoin('devices as d', 'd.id', 't.device_id')
    .select([
      't.id',
      't.token_hash',
      't.scopes',
      't.allowed_addresses',
      't.rate_per_minute',
      't.expires_at',
      't.revoked_at',
      'u.id as userId',
      'u.username',
      'u.disabled_at',
      'u.suspended_until',
      't.device_id',
      'd.public_key as device_key',
      'd.revoked_at as device_revoked_at',
    ])
    .where('t.token_hash', '=', hash)
    .executeTakeFirst();
  const now = deps.clock.now();
  const allowed = row?.allowed_addresses ? (JSON.parse(row.allowed_addresses) as string[]) : undefined;
  const ok =
    row &&
    constantTimeEqual(row.token_hash, hash) &&
    row.revoked_at === null &&
    row.expires_at > now &&
    row.disabled_at === null &&
    // SECURITY: a containment's suspension refuses every token of the account while it lasts.
    (row.suspended_until === null || Number(row.suspended_until) <= now) &&
    (row.device_id === null || (row.device_key !== null && row.device_revoked_at === null)) &&
    (!allowed || allowed.includes(address));
  if (!ok) {
    if (row) {
      // Why, for detection: a dead token (revoked, expired, suspended) is no misuse of the account.
      const reason =
        row.revoked_at !== null
          ? 'revoked'
          : row.expires_at <= now
            ? 'expired'
            : row.disabled_at !== null
              ? 'disabled'
              : row.suspended_until !== null && Number(row.suspended_until) > now
                ? 'suspended'
                : row.device_id !== null && (row.device_key === null || row.device_revoked_at !== null)
                  ? 'device_revoked'
                  : 'address';
      await recordAudit(deps.db, deps.sealer, {
        at: now,
        actorId: row.userId,
        action: 'service_token.refused',
        target: row.id,
        address,
        outcome: 'failure',
        details: { reason },
      });
    }
    throw new AppError(
      'session_invalid',
      'the service token is unknown, expired, revoked or not allowed from this address',
    );
  }
  deps.limiter.checkWith('service.token', { burst: row.rate_per_minute, perSecond: row.rate_per_minute / 60 }, row.id);
  await deps.db.transaction().execute(async (tx) => {
    await tx.updateTable('service_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: row.userId,
      action: 'service_token.used',
      target: row.id,
      address,
      outcome: 'success',
    });
  });
  const principal: Principal = {
    userId: row.userId as UserId,
    username: row.username,
    roles: ['service'],
    deviceId: (row.device_id ?? `token:${row.id}`) as DeviceId,
    sessionId: `token:${row.id}` as SessionId,
    aal: 1,
    strongAuthAt: null,
    scopes: JSON.parse(row.scopes) as ServiceScope[],
  };
  if (row.device_id !== null) principal.deviceBound = true;
  return { principal, devicePublicKey: row.device_id !== null ? row.device_key : null };
}
