import { KEY_PACKAGE_LOW_WATER, type ClaimKeyPackagesResponse } from '@palisade/protocol';
import { sql } from 'kysely';
import type { KeyPackagesLow, Principal } from '../core/index.js';
import type { Db } from '../store/index.js';
import type { E2eeDeps } from './deps.js';
import { toB64Url } from './device.js';
import { stockOf } from './key-packages-upload.js';

/** `mls.key_packages_low` (ephemeral): realtime tells the device to upload more. */
export const KEY_PACKAGES_LOW = 'mls.key_packages_low';

/** Candidates read per attempt when concurrent claims race for a device's packages. */
const CANDIDATES = 8;

/**
 * Claims one KeyPackage for each device: a non-expired one-time package, deleted as it is taken,
 * else the device's last-resort package (kept). Devices the caller may not claim, or with nothing
 * usable, are answered in `missing`.
 * SECURITY: only the caller's own devices and devices of users who share a conversation with the
 * caller can be claimed (no directory scraping). A one-time package is handed out at most once, also
 * under concurrent claims on PostgreSQL: the take is a single DELETE ... RETURNING of one row, which
 * only one transaction can win; the loser moves on to the next candidate.
 */
export async function claimKeyPackages(
  deps: E2eeDeps,
  principal: Principal,
  deviceIds: string[],
): Promise<ClaimKeyPackagesResponse> {
  const m = deps.messaging;
  m.limiter.check('message.send', principal.deviceId);
  const now = m.clock.now();
  const wanted = [...new Set(deviceIds)];
  const owners = await claimable(m.db, principal, wanted);
  const out: ClaimKeyPackagesResponse = { packages: [], missing: [] };
  for (const deviceId of wanted) {
    const userId = owners.get(deviceId);
    const data = userId === undefined ? undefined : await take(m.db, deviceId, now);
    if (userId === undefined || !data) {
      out.missing.push(deviceId);
      continue;
    }
    out.packages.push({ userId, deviceId, keyPackage: toB64Url(data) });
    const left = await stockOf(m.db, deviceId, now);
    if (left.stock < KEY_PACKAGE_LOW_WATER)
      m.bus.publish({
        type: KEY_PACKAGES_LOW,
        data: { userId, deviceId, stock: left.stock } satisfies KeyPackagesLow,
      });
  }
  return out;
}

/**
 * The conversations where the caller may commit: all for a user; for a service token (a bot) only
 * those of its `message.send` scopes. SECURITY: a bot claims KeyPackages only of co-members of those.
 */
function sendScope(principal: Principal): '*' | string[] {
  if (!principal.scopes) return '*';
  const send = principal.scopes.filter((s) => s.action === 'message.send');
  if (send.some((s) => s.conversations === '*')) return '*';
  return [...new Set(send.flatMap((s) => s.conversations as readonly string[]))];
}

/** The claimable devices among `ids`, with their owners: active, and the caller's or a co-member's. */
async function claimable(db: Db, principal: Principal, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const scope = sendScope(principal);
  const rows = await db
    .selectFrom('devices')
    .select(['devices.id', 'devices.user_id'])
    .where('devices.id', 'in', ids)
    .where('devices.revoked_at', 'is', null)
    .where('devices.approved_at', 'is not', null)
    .where((eb) => {
      const own = eb('devices.user_id', '=', principal.userId);
      if (scope !== '*' && scope.length === 0) return own;
      return eb.or([
        own,
        eb.exists(
          eb
            .selectFrom('members as mine')
            .innerJoin('members as theirs', 'theirs.conversation_id', 'mine.conversation_id')
            .select(sql.lit(1).as('one'))
            .where('mine.user_id', '=', principal.userId)
            .whereRef('theirs.user_id', '=', 'devices.user_id')
            .$if(scope !== '*', (q) => q.where('mine.conversation_id', 'in', scope as string[])),
        ),
      ]);
    })
    .execute();
  return new Map(rows.map((r) => [r.id, r.user_id]));
}

/** Takes one one-time package of the device (deleted), else reads its last-resort package. */
async function take(db: Db, deviceId: string, now: number): Promise<Uint8Array | undefined> {
  for (;;) {
    const candidates = await db
      .selectFrom('key_packages')
      .select('ref')
      .where('device_id', '=', deviceId)
      .where('last_resort', '=', 0)
      .where('not_after', '>', now)
      .orderBy('created_at')
      .orderBy('ref')
      .limit(CANDIDATES)
      .execute();
    if (candidates.length === 0) break;
    for (const c of candidates) {
      // SECURITY: the row is deleted and returned in one statement: of concurrent claims, exactly
      // one gets it (PostgreSQL makes the others wait for the row lock, then find it gone).
      const won = await db
        .deleteFrom('key_packages')
        .where('ref', '=', c.ref)
        .where('last_resort', '=', 0)
        .returning('data')
        .executeTakeFirst();
      if (won) return won.data;
    }
  }
  const lr = await db
    .selectFrom('key_packages')
    .select('data')
    .where('device_id', '=', deviceId)
    .where('last_resort', '=', 1)
    .where('not_after', '>', now)
    .executeTakeFirst();
  return lr?.data;
}
