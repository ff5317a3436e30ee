import { recordAudit } from '../../audit/index.js';
import { revokeSessionsInTx, type AuthDeps, type SessionsRevoked } from '../../auth/index.js';
import { AppError } from '../../core/index.js';
import { addressPrefix, canonicalBlock } from '../../limits/index.js';
import type { Tx } from '../../store/index.js';
import type { ResponseActionKind } from '../types.js';
import { sealPrefix } from './sealed.js';

/** `locked_until` and friends for a containment with no end (year 275760: the largest Date). */
export const FOREVER = 8_640_000_000_000_000;

/** A containment row as the actions see it. */
export interface ContainmentRow {
  id: string;
  action: ResponseActionKind;
  subject_kind: string;
  /** As stored: a user id, or an address's blind index. */
  subject_id: string;
  /** In clear: the user id, or the canonical address or prefix. */
  subject: string;
  expires_at: number | null;
}

/** What to do once the transaction has committed (publish revocations, reload blocks, set a throttle). */
export interface AfterCommit {
  revoked: SessionsRevoked[];
  refreshBlocks: boolean;
  throttle?: { subject: string; forMs: number } | { lift: string };
  /** Counts and ids for the audit record and the row's note (never secrets). */
  note: Record<string, unknown>;
}

const emptyAfter = (): AfterCommit => ({ revoked: [], refreshBlocks: false, note: {} });

/** The users column that an action's active containments add up to. */
const USER_COLUMN = {
  lock_account: 'locked_until',
  suspend_service_account: 'suspended_until',
  require_step_up: 'step_up_until',
} as const;

/**
 * Sets the user's column to what the active containments of `action` on them add up to: the latest
 * end, FOREVER for one without end, null for none. SECURITY: recomputed rather than set or cleared, so
 * undoing one of two locks leaves the other in force.
 */
async function recompute(
  tx: Tx,
  action: keyof typeof USER_COLUMN,
  userId: string,
  now: number,
): Promise<number | null> {
  const rows = await tx
    .selectFrom('containments')
    .select('expires_at')
    .where('action', '=', action)
    .where('subject_id', '=', userId)
    .where('state', '=', 'active')
    .execute();
  const live = rows.map((r) => (r.expires_at === null ? FOREVER : Number(r.expires_at))).filter((e) => e > now);
  const until = live.length === 0 ? null : Math.max(...live);
  const r = await tx
    .updateTable('users')
    .set({ [USER_COLUMN[action]]: until })
    .where('id', '=', userId)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new AppError('not_found', 'no such account');
  return until;
}

/** True when the two canonical prefixes share an address. */
function overlaps(a: string, b: string): boolean {
  const [aa = '', ab = '0'] = a.split('/');
  const [ba = '', bb = '0'] = b.split('/');
  if (aa.includes(':') !== ba.includes(':')) return false;
  const bits = Math.min(Number(ab), Number(bb));
  return addressPrefix(aa, bits, bits) === addressPrefix(ba, bits, bits);
}

/**
 * Applies a containment inside the transaction that marks it active (and audits it).
 * `neverBlock`: prefixes no block may touch. Throws AppError when the step cannot be applied.
 */
export async function applyAction(
  tx: Tx,
  auth: AuthDeps,
  row: ContainmentRow,
  now: number,
  neverBlock: readonly string[],
): Promise<AfterCommit> {
  const after = emptyAfter();
  const forMs = row.expires_at === null ? Number.POSITIVE_INFINITY : row.expires_at - now;
  switch (row.action) {
    case 'block_address':
    case 'block_network': {
      const prefix = canonicalBlock(row.subject);
      if (prefix === undefined) throw new AppError('bad_request', 'not a blockable address or network');
      // SECURITY: trusted proxies, offices and other listed networks are never blocked.
      const kept = neverBlock.map((n) => canonicalBlock(n)).filter((n): n is string => n !== undefined);
      if (kept.some((n) => overlaps(n, prefix)))
        throw new AppError('forbidden', 'the block covers a protected network');
      await tx
        .insertInto('address_blocks')
        .values({
          containment_id: row.id,
          prefix: sealPrefix(auth.sealer, row.id, prefix),
          until: row.expires_at,
          created_at: now,
        })
        .execute();
      after.refreshBlocks = true;
      return after; // no note: the prefix is personal data, kept sealed only
    }
    case 'throttle':
      after.throttle = { subject: row.subject, forMs };
      return after;
    case 'require_step_up': {
      await recompute(tx, 'require_step_up', row.subject_id, now);
      // Sessions must verify a strong factor again before any sensitive action.
      const r = await tx
        .updateTable('sessions')
        .set({ strong_auth_at: null })
        .where('user_id', '=', row.subject_id)
        .where('revoked_at', 'is', null)
        .where('strong_auth_at', 'is not', null)
        .executeTakeFirst();
      after.note = { sessionsStepUp: Number(r.numUpdatedRows) };
      return after;
    }
    case 'lock_account':
      await recompute(tx, 'lock_account', row.subject_id, now);
      return revokeFor(tx, auth, after, { userId: row.subject_id }, 'user_disabled');
    case 'suspend_service_account':
      await recompute(tx, 'suspend_service_account', row.subject_id, now);
      return after;
    case 'revoke_sessions':
      return revokeFor(tx, auth, after, { userId: row.subject_id }, 'admin');
    case 'revoke_devices': {
      const s = await tx.selectFrom('sessions').select('device_id').where('id', '=', row.subject_id).executeTakeFirst();
      if (!s) throw new AppError('not_found', 'no such session');
      const d = await tx
        .updateTable('devices')
        .set({ revoked_at: now })
        .where('id', '=', s.device_id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(d.numUpdatedRows) === 1)
        await recordAudit(tx, auth.sealer, {
          at: now,
          actorId: null,
          action: 'device.revoked',
          target: s.device_id,
          outcome: 'success',
          details: { containment: row.id },
        });
      await revokeFor(tx, auth, after, { deviceId: s.device_id }, 'admin');
      after.note = { ...after.note, deviceId: s.device_id };
      return after;
    }
  }
}

async function revokeFor(
  tx: Tx,
  auth: AuthDeps,
  after: AfterCommit,
  target: { userId: string } | { deviceId: string },
  reason: SessionsRevoked['reason'],
): Promise<AfterCommit> {
  const revoked = await revokeSessionsInTx(tx, auth, null, target, reason, null);
  after.revoked.push(revoked);
  after.note = { ...after.note, sessionsRevoked: revoked.sessionIds.length };
  return after;
}

/**
 * Lifts a containment inside the transaction that marks it undone or expired. Revoked sessions and
 * devices stay revoked (their owner logs in again, or registers the device again): nothing stored can
 * bring a token back, by design.
 */
export async function liftAction(tx: Tx, row: ContainmentRow, now: number): Promise<AfterCommit> {
  const after = emptyAfter();
  switch (row.action) {
    case 'block_address':
    case 'block_network':
      await tx.deleteFrom('address_blocks').where('containment_id', '=', row.id).execute();
      after.refreshBlocks = true;
      return after;
    case 'throttle': {
      // Another active throttle on the same subject keeps it throttled for its own remaining time.
      const other = await tx
        .selectFrom('containments')
        .select('expires_at')
        .where('action', '=', 'throttle')
        .where('subject_id', '=', row.subject_id)
        .where('state', '=', 'active')
        .where('id', '!=', row.id)
        .execute();
      const ends = other.map((o) => (o.expires_at === null ? FOREVER : Number(o.expires_at))).filter((e) => e > now);
      after.throttle =
        ends.length > 0 ? { subject: row.subject, forMs: Math.max(...ends) - now } : { lift: row.subject };
      return after;
    }
    case 'require_step_up':
    case 'lock_account':
    case 'suspend_service_account':
      after.note = { until: await recompute(tx, row.action, row.subject_id, now) };
      return after;
    case 'revoke_sessions':
    case 'revoke_devices':
      after.note = { irreversible: true };
      return after;
  }
}
