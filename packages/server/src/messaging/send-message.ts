import { MAX_PAYLOAD_BYTES } from '@palisade/protocol';
import { AppError, type Principal } from '../core/index.js';
import { assertConversation } from '../rbac/index.js';
import { isUniqueViolation } from '../store/index.js';
import type { MessagingDeps } from './deps.js';
import { MESSAGE_SENT, type MessageSent, type StoredMessage } from './events.js';

/** Input of a send: the conversation, the client's idempotency key and the opaque payload. */
export interface SendMessageInput {
  conversationId: string;
  clientMsgId: string;
  payload: Uint8Array;
}

/** Result of a send: the message's sequence number; `duplicate` when this was a retry. */
export interface SendMessageResult {
  seq: number;
  duplicate: boolean;
}

/**
 * Stores one message and returns its sequence number.
 * SECURITY: authorize before write; the sequence number, message row and outbox event are written in
 * ONE transaction, and the caller acknowledges only after this resolves, i.e. after COMMIT.
 * Idempotent on (conversation, sender, clientMsgId): a retry returns the first send's seq.
 */
export async function sendMessage(deps: MessagingDeps, principal: Principal, input: SendMessageInput): Promise<SendMessageResult> {
  if (input.payload.byteLength > MAX_PAYLOAD_BYTES) throw new AppError('payload_too_large');
  deps.limiter.check('message.send', principal.deviceId);
  const now = deps.clock.now();
  let outcome: SendMessageResult & { stored?: StoredMessage; outboxId?: number };
  try {
    outcome = await deps.sends.enqueue(async (tx) => {
      await assertConversation(tx, principal, input.conversationId, 'message.send');
      const prior = await tx
        .selectFrom('messages')
        .select('seq')
        .where('conversation_id', '=', input.conversationId)
        .where('sender_id', '=', principal.userId)
        .where('client_msg_id', '=', input.clientMsgId)
        .executeTakeFirst();
      if (prior) return { seq: Number(prior.seq), duplicate: true };
      const next = await tx
        .updateTable('conversations')
        .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
        .where('id', '=', input.conversationId)
        .returning('last_seq')
        .executeTakeFirstOrThrow();
      const seq = Number(next.last_seq);
      await tx
        .insertInto('messages')
        .values({
          conversation_id: input.conversationId,
          seq,
          sender_id: principal.userId,
          sender_device_id: principal.deviceId,
          client_msg_id: input.clientMsgId,
          payload: input.payload,
          created_at: now,
        })
        .execute();
      const outboxId = await deps.outbox.record(tx, MESSAGE_SENT, { conversationId: input.conversationId, seq } satisfies MessageSent);
      const stored: StoredMessage = {
        conversationId: input.conversationId,
        seq,
        senderId: principal.userId,
        senderDeviceId: principal.deviceId,
        clientMsgId: input.clientMsgId,
        payload: input.payload,
        sentAt: now,
      };
      return { seq, duplicate: false, stored, outboxId };
    });
  } catch (e) {
    // Two concurrent sends of the same clientMsgId: the loser reads the winner's seq.
    if (isUniqueViolation(e)) return { seq: await seqOf(deps, principal, input), duplicate: true };
    throw e;
  }
  // Only now, after COMMIT, does anyone hear of the message.
  const { stored, outboxId } = outcome;
  if (stored && outboxId !== undefined) {
    deps.outbox.published(outboxId, { type: MESSAGE_SENT, data: { conversationId: stored.conversationId, seq: stored.seq, message: stored } satisfies MessageSent });
  }
  return { seq: outcome.seq, duplicate: outcome.duplicate };
}

async function seqOf(deps: MessagingDeps, principal: Principal, input: SendMessageInput): Promise<number> {
  const row = await deps.db
    .selectFrom('messages')
    .select('seq')
    .where('conversation_id', '=', input.conversationId)
    .where('sender_id', '=', principal.userId)
    .where('client_msg_id', '=', input.clientMsgId)
    .executeTakeFirstOrThrow();
  return Number(row.seq);
}
