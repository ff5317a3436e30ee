import type { DirectoryResponse } from '@palisade/protocol';
import type { Principal } from '../core/index.js';
import type { TransparencyDeps } from './deps.js';
import { currentHead } from './log.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

/**
 * The key directory: for each named user the caller may see (itself, or someone it shares a
 * conversation with), the active devices holding a credential, with their log positions.
 * SECURITY: users the caller may not see are left out exactly like users that do not exist, so the
 * directory is no oracle for who is registered.
 */
export async function lookupDirectory(
  deps: TransparencyDeps,
  principal: Principal,
  userIds: readonly string[],
): Promise<DirectoryResponse> {
  const head = await currentHead(deps);
  const others = userIds.filter((u) => u !== principal.userId);
  const shared =
    others.length === 0
      ? []
      : await deps.db
          .selectFrom('members as mine')
          .innerJoin('members as theirs', 'theirs.conversation_id', 'mine.conversation_id')
          .select('theirs.user_id')
          .distinct()
          .where('mine.user_id', '=', principal.userId)
          .where('theirs.user_id', 'in', others)
          .execute();
  const visible = [...(userIds.includes(principal.userId) ? [principal.userId] : []), ...shared.map((r) => r.user_id)];
  if (visible.length === 0) return { head, users: [] };
  const users = await deps.db
    .selectFrom('users')
    .select(['id', 'username'])
    .where('id', 'in', visible)
    .orderBy('id')
    .execute();
  // Only leaves inside the head returned, so every listed device has a proof under it.
  const devices = await deps.db
    .selectFrom('kt_leaves')
    .innerJoin('devices', 'devices.id', 'kt_leaves.device_id')
    .select(['kt_leaves.user_id', 'kt_leaves.device_id', 'kt_leaves.leaf_index', 'kt_leaves.credential'])
    .where('kt_leaves.user_id', 'in', visible)
    .where('kt_leaves.leaf_index', '<', head.treeSize)
    .where('devices.revoked_at', 'is', null)
    .orderBy('kt_leaves.leaf_index')
    .execute();
  return {
    head,
    users: users.map((u) => ({
      userId: u.id,
      username: u.username,
      devices: devices
        .filter((d) => d.user_id === u.id)
        .map((d) => ({ deviceId: d.device_id, credential: b64(d.credential), leafIndex: Number(d.leaf_index) })),
    })),
  };
}
