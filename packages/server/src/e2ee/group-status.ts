import type { MlsGroupInfoResponse, MlsGroupStatus, MlsSuite } from '@palisade/protocol';
import { AppError, type Principal } from '../core/index.js';
import { assertConversation } from '../rbac/index.js';
import type { E2eeDeps } from './deps.js';
import { toB64Url } from './device.js';
import { entitledDevices, groupDevices } from './roster.js';

/**
 * The conversation's MLS group as the accepted commits left it, against who should be in it:
 * `missing` devices are to be added, `stale` ones removed. Members only.
 */
export async function groupStatus(
  deps: E2eeDeps,
  principal: Principal,
  conversationId: string,
): Promise<MlsGroupStatus> {
  const db = deps.messaging.db;
  await assertConversation(db, principal, conversationId, 'conversation.read');
  const [g, entitled, inGroup] = await Promise.all([
    db
      .selectFrom('mls_groups')
      .select(['group_id', 'epoch', 'suite'])
      .where('conversation_id', '=', conversationId)
      .executeTakeFirst(),
    entitledDevices(db, conversationId),
    groupDevices(db, conversationId),
  ]);
  const entitledIds = new Set(entitled.map((d) => d.deviceId));
  const present = new Set(inGroup);
  return {
    groupId: g ? toB64Url(g.group_id) : null,
    epoch: g ? Number(g.epoch) : null,
    suite: g ? (g.suite as MlsSuite) : null,
    entitled,
    inGroup,
    missing: entitled.filter((d) => !present.has(d.deviceId)).map((d) => d.deviceId),
    stale: inGroup.filter((id) => !entitledIds.has(id)),
  };
}

/** The current epoch's GroupInfo, for a member's device to re-join by external commit. */
export async function groupInfo(
  deps: E2eeDeps,
  principal: Principal,
  conversationId: string,
): Promise<MlsGroupInfoResponse> {
  const db = deps.messaging.db;
  await assertConversation(db, principal, conversationId, 'conversation.read');
  const g = await db
    .selectFrom('mls_groups')
    .select(['group_info', 'epoch'])
    .where('conversation_id', '=', conversationId)
    .executeTakeFirst();
  if (!g) throw new AppError('not_found', 'the conversation has no MLS group yet');
  return { groupInfo: toB64Url(g.group_info), epoch: Number(g.epoch) };
}
