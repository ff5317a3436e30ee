import { AppError, type DeviceId, type Principal, type SessionId, type UserId } from '../core/index.js';
import { constantTimeEqual, sha256Hex } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import { SESSIONS_REVOKED, type AuthDeps, type SessionsRevoked } from './deps.js';
import { openColumn } from '../keys/index.js';
import { networkOf } from './risk.js';
import { assertUserExists } from './user-exists.js';
import { preparedQuery, type Executor } from '../store/index.js';

/** A live session: who, which device key, and when it ends. */
export interface AuthenticatedSession {
  principal: Principal;
  devicePublicKey: string;
  expiresAt: number;
}

/** Why a session no longer holds. */
export type SessionProblem = 'revoked' | 'expired' | 'idle' | 'user_disabled' | 'device_revoked';

interface SessionState {
  expiresAt: number;
  lastUsedAt: number;
  revokedAt: number | null;
  aal: number | string;
  disabledAt: number | null;
  /** A containment's lock (migration 0023): the session does not hold while it lasts. */
  lockedUntil: number | null;
  deviceRevokedAt: number | null;
  deviceApprovedAt: number | null;
}

/**
 * The one rule for "this session still holds", shared by token checks and open WebSockets.
 * SECURITY-BASELINE: idle at most 1 h at AAL2 and 15 min at AAL3.
 */
function sessionProblem(deps: AuthDeps, row: SessionState, now: number): SessionProblem | undefined {
  if (row.revokedAt !== null) return 'revoked';
  if (Number(row.expiresAt) <= now) return 'expired';
  const idleMs = Number(row.aal) >= 3 ? Math.min(deps.policy.idleTimeoutMs, 15 * 60_000) : deps.policy.idleTimeoutMs;
  // Idle time is real time: a forward wall-clock step this process saw since the last use does not
  // count (fault test 8: a +2 h NTP step logged every reconnecting device out). The absolute expiry
  // above stays strict wall time: a step can only end a session early, never keep it longer.
  const lastUsed = Number(row.lastUsedAt);
  if (lastUsed + idleMs + deps.clock.steppedForwardSince(lastUsed) <= now) return 'idle';
  if (row.disabledAt !== null || (row.lockedUntil !== null && Number(row.lockedUntil) > now)) return 'user_disabled';
  if (row.deviceRevokedAt !== null || row.deviceApprovedAt === null) return 'device_revoked';
  return undefined;
}

/** The state of an open session as a long-lived connection re-checks it. */
export type SessionCheck = { ok: true; expiresAt: number } | { ok: false; problem: SessionProblem };

/**
 * Re-checks sessions by id (batched), for connections that authenticated earlier: revoked, expired,
 * idle, user disabled, device revoked. A session that no longer exists counts as revoked.
 */
export async function checkSessions(deps: AuthDeps, sessionIds: string[]): Promise<Map<string, SessionCheck>> {
  const out = new Map<string, SessionCheck>();
  const now = deps.clock.now();
  for (let i = 0; i < sessionIds.length; i += 500) {
    const ids = sessionIds.slice(i, i + 500);
    const rows = await deps.db
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .innerJoin('devices as d', 'd.id', 's.device_id')
      .select([
        's.id',
        's.expires_at as expiresAt',
        's.last_used_at as lastUsedAt',
        's.revoked_at as revokedAt',
        's.aal',
        'u.disabled_at as disabledAt',
        'u.locked_until as lockedUntil',
        'd.revoked_at as deviceRevokedAt',
        'd.approved_at as deviceApprovedAt',
      ])
      .where('s.id', 'in', ids)
      .execute();
    for (const id of ids) out.set(id, { ok: false, problem: 'revoked' });
    for (const r of rows) {
      const problem = sessionProblem(deps, r, now);
      out.set(r.id, problem === undefined ? { ok: true, expiresAt: Number(r.expiresAt) } : { ok: false, problem });
    }
  }
  return out;
}

/** Touch `last_used_at` at most this often, so reads stay reads. */
const TOUCH_INTERVAL_MS = 60_000;

/** The session a token hash names, with its user and device (compiled once: every connect runs it). */
const sessionByHash = preparedQuery(1, (db, hash: string) =>
  db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .innerJoin('devices as d', 'd.id', 's.device_id')
    .select([
      's.id as sessionId',
      's.token_hash as tokenHash',
      's.expires_at as expiresAt',
      's.last_used_at as lastUsedAt',
      's.revoked_at as revokedAt',
      's.aal',
      's.strong_auth_at as strongAuthAt',
      's.login_address as loginAddress',
      's.strong_auth_method as strongAuthMethod',
      'u.id as userId',
      'u.username',
      'u.role',
      'u.disabled_at as disabledAt',
      'u.locked_until as lockedUntil',
      'd.id as deviceId',
      'd.public_key as publicKey',
      'd.revoked_at as deviceRevokedAt',
      'd.approved_at as deviceApprovedAt',
    ])
    .where('s.token_hash', '=', hash),
);

/** A user's approved, unrevoked, unexpired role grants at `now`. */
const liveGrants = preparedQuery(2, (db, userId: string, now: number) =>
  db
    .selectFrom('role_grants')
    .select('role')
    .where('user_id', '=', userId)
    .where('approved_at', 'is not', null)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])),
);

/**
 * Resolves a bearer token to its session.
 * SECURITY: looks up by SHA-256 and compares the stored hash in constant time; refuses revoked,
 * expired or idle sessions, disabled users and revoked devices with the same `session_invalid`.
 */
export async function authenticateToken(
  deps: AuthDeps,
  token: string,
  address?: string,
): Promise<AuthenticatedSession> {
  const hash = sha256Hex(token);
  const row = (await sessionByHash(deps.db, hash)).rows[0];
  const now = deps.clock.now();
  if (!row || !constantTimeEqual(row.tokenHash, hash) || sessionProblem(deps, row, now) !== undefined) {
    throw new AppError('session_invalid');
  }
  const grants = (await liveGrants(deps.db, row.userId, now)).rows;
  if (now - row.lastUsedAt > TOUCH_INTERVAL_MS) {
    await deps.db.updateTable('sessions').set({ last_used_at: now }).where('id', '=', row.sessionId).execute();
  }
  return {
    principal: {
      userId: row.userId as UserId,
      username: row.username,
      roles: [row.role, ...new Set(grants.map((g) => g.role))],
      strongAuthMethod: row.strongAuthMethod,
      deviceId: row.deviceId as DeviceId,
      sessionId: row.sessionId as SessionId,
      aal: Number(row.aal),
      // SECURITY: a request from another network than the login's does not count as strongly
      // authenticated: sensitive actions need a new step-up from where the user is now.
      strongAuthAt:
        row.strongAuthAt === null ||
        (address !== undefined &&
          row.loginAddress !== null &&
          networkOf(address) !==
            networkOf(await openColumn(deps.sealer, 'sessions', 'login_address', row.sessionId, row.loginAddress)))
          ? null
          : Number(row.strongAuthAt),
    },
    devicePublicKey: row.publicKey,
    expiresAt: row.expiresAt,
  };
}

/** Marks a session as used now (long-lived connections call it on user activity, not merely for being open). */
export async function touchSession(deps: AuthDeps, sessionId: string): Promise<void> {
  const now = deps.clock.now();
  const aal3Idle = Math.min(deps.policy.idleTimeoutMs, 15 * 60_000);
  // SECURITY: never revives a session that has already expired or idled out (the socket's re-check closes it).
  await deps.db
    .updateTable('sessions')
    .set({ last_used_at: now })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .where((eb) =>
      eb.or([
        eb.and([eb('aal', '>=', 3), eb('last_used_at', '>', now - aal3Idle)]),
        eb.and([eb('aal', '<', 3), eb('last_used_at', '>', now - deps.policy.idleTimeoutMs)]),
      ]),
    )
    .execute();
}

/** Ends the caller's own session. */
export async function logout(deps: AuthDeps, principal: Principal, address: string | null): Promise<void> {
  await revoke(deps, principal.userId, [principal.sessionId], 'logout', address);
}

/**
 * Ends sessions by id or all sessions of a user (admin). Publishes `session.revoked` after commit,
 * and realtime closes the matching sockets at once.
 */
export async function revokeSessions(
  deps: AuthDeps,
  actorId: string | null,
  target: { sessionId: string } | { userId: string },
  address: string | null,
  reason: SessionsRevoked['reason'] = 'admin',
): Promise<number> {
  if ('userId' in target) await assertUserExists(deps.db, target.userId);
  let q = deps.db.selectFrom('sessions').select('id').where('revoked_at', 'is', null);
  q = 'sessionId' in target ? q.where('id', '=', target.sessionId) : q.where('user_id', '=', target.userId);
  const ids = (await q.execute()).map((r) => r.id);
  if (ids.length === 0) return 0;
  await revoke(deps, actorId, ids, reason, address);
  return ids.length;
}

async function revoke(
  deps: AuthDeps,
  actorId: string | null,
  sessionIds: string[],
  reason: SessionsRevoked['reason'],
  address: string | null,
): Promise<void> {
  await deps.db.transaction().execute((tx) => revokeInTx(tx, deps, actorId, sessionIds, reason, address));
  publishRevoked(deps, { sessionIds, reason });
}

async function revokeInTx(
  tx: Executor,
  deps: AuthDeps,
  actorId: string | null,
  sessionIds: string[],
  reason: SessionsRevoked['reason'],
  address: string | null,
): Promise<void> {
  const now = deps.clock.now();
  await tx
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('id', 'in', sessionIds)
    .where('revoked_at', 'is', null)
    .execute();
  await recordAudit(tx, deps.sealer, {
    at: now,
    actorId,
    action: 'session.revoked',
    target: sessionIds.join(','),
    address,
    outcome: 'success',
    details: { reason, count: sessionIds.length },
  });
}

/**
 * Ends open sessions inside the caller's transaction (the change that ends them, its audit record and
 * the `session.revoked` record commit together). Returns what to hand to `publishRevoked` after COMMIT.
 * `except` keeps one session (the caller's own, after a password or factor change).
 */
export async function revokeSessionsInTx(
  tx: Executor,
  deps: AuthDeps,
  actorId: string | null,
  target: { userId: string; except?: string } | { deviceId: string },
  reason: SessionsRevoked['reason'],
  address: string | null,
): Promise<SessionsRevoked> {
  let q = tx.selectFrom('sessions').select('id').where('revoked_at', 'is', null);
  q = 'deviceId' in target ? q.where('device_id', '=', target.deviceId) : q.where('user_id', '=', target.userId);
  if ('except' in target && target.except !== undefined) q = q.where('id', '!=', target.except);
  const sessionIds = (await q.execute()).map((r) => r.id);
  if (sessionIds.length > 0) await revokeInTx(tx, deps, actorId, sessionIds, reason, address);
  return { sessionIds, reason };
}

/**
 * Publishes `session.revoked` after the transaction that ended the sessions has committed.
 * Ephemeral: a lost event only delays the close until the next session re-check of the socket.
 */
export function publishRevoked(deps: AuthDeps, revoked: SessionsRevoked): void {
  if (revoked.sessionIds.length > 0)
    deps.bus.publish({ type: SESSIONS_REVOKED, data: revoked satisfies SessionsRevoked });
}

/** The caller's sessions that are still open. */
export async function listMySessions(deps: AuthDeps, principal: Principal) {
  const now = deps.clock.now();
  const rows = await deps.db
    .selectFrom('sessions as s')
    .innerJoin('devices as d', 'd.id', 's.device_id')
    .select(['s.id', 's.created_at', 's.expires_at', 's.last_used_at', 'd.id as device_id', 'd.name as device_name'])
    .where('s.user_id', '=', principal.userId)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', now)
    .orderBy('s.created_at')
    .execute();
  return Promise.all(
    rows.map(async (r) => ({
      id: r.id,
      deviceId: r.device_id,
      deviceName: await openColumn(deps.sealer, 'devices', 'name', r.device_id, r.device_name),
      current: r.id === principal.sessionId,
      createdAt: new Date(r.created_at).toISOString(),
      expiresAt: new Date(r.expires_at).toISOString(),
      lastUsedAt: new Date(r.last_used_at).toISOString(),
    })),
  );
}
