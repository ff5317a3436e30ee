import { currentDrill, type Principal } from '../core/index.js';
import { assertConversation } from '../rbac/index.js';
import type { MessagingDeps } from './deps.js';
import type { StoredMessage } from './events.js';
import { payloadAad } from '../keys/index.js';

/**
 * Messages of a conversation with seq > `after`, oldest first, at most `limit`. Members only.
 * Each read is a `history.read` signal for detection (bulk reads at odd hours); `address` is the
 * reader's, when the transport knows it. SECURITY: the signal carries a count, never content.
 */
export async function listMessages(
  deps: MessagingDeps,
  principal: Principal,
  conversationId: string,
  after: number,
  limit: number,
  address?: string,
): Promise<StoredMessage[]> {
  await assertConversation(deps.db, principal, conversationId, 'conversation.read');
  const m = await deps.db
    .selectFrom('members')
    .select('joined_seq')
    .where('conversation_id', '=', conversationId)
    .where('user_id', '=', principal.userId)
    .executeTakeFirstOrThrow();
  // SECURITY: a member sees only messages sent after they joined.
  const messages = await readRange(deps, conversationId, Math.max(after, Number(m.joined_seq)), limit);
  const drill = currentDrill();
  deps.bus.publish({
    type: 'security.signal',
    data: {
      kind: 'history.read',
      at: deps.clock.now(),
      userId: principal.userId,
      deviceId: principal.deviceId,
      conversationId,
      count: messages.length,
      ...(principal.scopes ? { service: true } : {}),
      ...(address ? { address } : {}),
      ...(drill ? { drill } : {}),
    },
  });
  return messages;
}

/** Reads a range of messages without an access check; callers must have authorized first. */
export async function readRange(
  deps: Pick<MessagingDeps, 'db' | 'sealer'>,
  conversationId: string,
  after: number,
  limit: number,
): Promise<StoredMessage[]> {
  const rows = await deps.db
    .selectFrom('messages')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('seq', '>', after)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return Promise.all(
    rows.map(async (r) => ({
      conversationId: r.conversation_id,
      seq: Number(r.seq),
      senderId: r.sender_id,
      senderDeviceId: r.sender_device_id,
      clientMsgId: r.client_msg_id,
      payload: r.sealed === 1 ? await unsealPayload(deps, r) : r.payload,
      sentAt: Number(r.created_at),
      kind: r.kind,
    })),
  );
}

async function unsealPayload(
  deps: Pick<MessagingDeps, 'sealer'>,
  r: { conversation_id: string; sender_id: string; client_msg_id: string; payload: Uint8Array },
): Promise<Uint8Array> {
  return deps.sealer.unsealBytes(r.payload, payloadAad(r.conversation_id, r.sender_id, r.client_msg_id));
}
