import { AppError, type Principal } from '../core/index.js';
import { assertConversation } from '../rbac/index.js';
import { preparedQuery } from '../store/index.js';
import type { MessagingDeps } from './deps.js';
import { RECEIPT_UPDATED, type ReceiptUpdated } from './events.js';

/** Where one device stands in one conversation. */
export interface DeviceCursor {
  conversationId: string;
  deliveredSeq: number;
  lastSeq: number;
}

/** Every conversation of the user with the device's stored cursor (compiled once: every connect runs it). */
const cursorRows = preparedQuery(2, (db, deviceId: string, userId: string) =>
  db
    .selectFrom('members as m')
    .innerJoin('conversations as c', 'c.id', 'm.conversation_id')
    .leftJoin('device_cursors as dc', (j) =>
      j.onRef('dc.conversation_id', '=', 'c.id').on('dc.device_id', '=', deviceId),
    )
    .select(['c.id', 'c.last_seq', 'dc.delivered_seq', 'm.joined_seq'])
    .where('m.user_id', '=', userId),
);

/** The device's delivery cursor for every conversation its user belongs to. */
export async function deviceCursors(deps: MessagingDeps, principal: Principal): Promise<DeviceCursor[]> {
  const rows = (await cursorRows(deps.db, principal.deviceId, principal.userId)).rows;
  return rows.map((r) => ({
    conversationId: r.id,
    lastSeq: Number(r.last_seq),
    deliveredSeq: Math.max(
      Number(r.delivered_seq ?? 0),
      Number(r.joined_seq),
      deps.cursors.buffered(principal.deviceId, r.id) ?? 0,
    ),
  }));
}

/**
 * Records that this device has everything up to `seq` (cursors only move forward) and tells the
 * other members. Returns the stored cursor.
 */
export async function acknowledgeDelivery(
  deps: MessagingDeps,
  principal: Principal,
  conversationId: string,
  seq: number,
): Promise<number> {
  await assertConversation(deps.db, principal, conversationId, 'conversation.read');
  await assertSeqExists(deps, conversationId, seq);
  deps.cursors.record(principal.deviceId, conversationId, seq);
  deps.bus.publish({
    type: RECEIPT_UPDATED,
    data: { conversationId, userId: principal.userId, kind: 'delivered', seq } satisfies ReceiptUpdated,
  });
  return seq;
}

/** Records that the user has read up to `seq` and tells the other members. */
export async function markRead(
  deps: MessagingDeps,
  principal: Principal,
  conversationId: string,
  seq: number,
): Promise<void> {
  await assertConversation(deps.db, principal, conversationId, 'conversation.read');
  await assertSeqExists(deps, conversationId, seq);
  await deps.db
    .insertInto('read_cursors')
    .values({ user_id: principal.userId, conversation_id: conversationId, read_seq: seq })
    .onConflict((oc) =>
      oc
        .columns(['user_id', 'conversation_id'])
        .doUpdateSet((eb) => ({ read_seq: eb.ref('excluded.read_seq') }))
        .where('read_cursors.read_seq', '<', seq),
    )
    .execute();
  deps.bus.publish({
    type: RECEIPT_UPDATED,
    data: { conversationId, userId: principal.userId, kind: 'read', seq } satisfies ReceiptUpdated,
  });
}

const lastSeqOf = preparedQuery(1, (db, conversationId: string) =>
  db.selectFrom('conversations').select('last_seq').where('id', '=', conversationId),
);

async function assertSeqExists(deps: MessagingDeps, conversationId: string, seq: number): Promise<void> {
  const c = (await lastSeqOf(deps.db, conversationId)).rows[0];
  if (!c || seq > Number(c.last_seq)) throw new AppError('bad_request', 'seq is beyond the last message');
}

/** Each member's delivered (best of their devices) and read positions in a conversation. Members only. */
export async function receiptCursors(deps: MessagingDeps, principal: Principal, conversationId: string) {
  await assertConversation(deps.db, principal, conversationId, 'conversation.read');
  const members = await deps.db
    .selectFrom('members')
    .select('user_id')
    .where('conversation_id', '=', conversationId)
    .execute();
  const delivered = await deps.db
    .selectFrom('device_cursors as dc')
    .innerJoin('devices as d', 'd.id', 'dc.device_id')
    .select(['d.user_id', 'dc.delivered_seq'])
    .where('dc.conversation_id', '=', conversationId)
    .execute();
  const read = await deps.db
    .selectFrom('read_cursors')
    .select(['user_id', 'read_seq'])
    .where('conversation_id', '=', conversationId)
    .execute();
  return members.map((m) => ({
    userId: m.user_id,
    deliveredSeq: Math.max(0, ...delivered.filter((d) => d.user_id === m.user_id).map((d) => Number(d.delivered_seq))),
    readSeq: Number(read.find((r) => r.user_id === m.user_id)?.read_seq ?? 0),
  }));
}
