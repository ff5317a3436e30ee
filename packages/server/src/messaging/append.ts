import { sql } from 'kysely';
import { AppError, type Principal } from '../core/index.js';
import { payloadAad, scopeOf } from '../keys/index.js';
import { assertConversation, rolesWith } from '../rbac/index.js';
import { prepared, type Tx } from '../store/index.js';
import type { MessagingDeps } from './deps.js';
import { MESSAGE_SENT, type MessageSent, type StoredMessage } from './events.js';

const SENDER_ROLES = rolesWith('message.send');

/** A message appended by another module (an MLS commit), with its payload already as stored at rest. */
export interface AppendInput {
  conversationId: string;
  clientMsgId: string;
  /** The payload as received (published to devices). */
  payload: Uint8Array;
  /** The payload as stored: from {@link payloadAtRest}, made before the transaction. */
  atRest: Uint8Array;
  kind: 'mls' | 'commit';
}

/**
 * Seals a payload for storage when payload sealing is on (call before the transaction: sealing may
 * create the conversation's data key, once the caller is authorized).
 */
export async function payloadAtRest(
  deps: MessagingDeps,
  principal: Principal,
  conversationId: string,
  clientMsgId: string,
  payload: Uint8Array,
): Promise<Uint8Array> {
  if (!deps.sealPayloads) return payload;
  const aad = payloadAad(conversationId, principal.userId, clientMsgId);
  const scope = scopeOf.conversation(conversationId);
  const sealed = await deps.sealer.sealBytesIfKeyed(payload, aad, scope);
  if (sealed) return sealed;
  await assertConversation(deps.db, principal, conversationId, 'message.send');
  return deps.sealer.sealBytes(payload, aad, scope);
}

const nextSeq = prepared<[conversationId: string, userId: string], { last_seq: number }>(
  2,
  (conversationId, userId) => sql`UPDATE conversations SET last_seq = last_seq + 1
      WHERE id = ${conversationId}
        AND EXISTS (SELECT 1 FROM members WHERE conversation_id = ${conversationId}
                    AND user_id = ${userId} AND role IN (${sql.join(SENDER_ROLES)}))
      RETURNING last_seq`,
);

/**
 * Takes the conversation's next sequence number for a member whose role may send, and LOCKS the
 * conversation row until the transaction ends (the serialization point of sends and commits).
 * Throws `not_found`/`forbidden` like a send. Hot path of every send: one statement compiled once
 * ({@link prepared}, the same text on SQLite and PostgreSQL), no query building per call.
 */
export async function takeSeq(tx: Tx, principal: Principal, conversationId: string): Promise<number> {
  const next = (await nextSeq(tx, conversationId, principal.userId)).rows[0];
  if (!next) {
    await assertConversation(tx, principal, conversationId, 'message.send');
    throw new AppError('forbidden');
  }
  return Number(next.last_seq);
}

/**
 * Appends a message at `seq` (from {@link takeSeq} in the same transaction) with its outbox event;
 * returns the function that publishes it, to call only after COMMIT.
 */
export async function appendMessage(
  deps: MessagingDeps,
  tx: Tx,
  principal: Principal,
  seq: number,
  input: AppendInput,
): Promise<() => void> {
  const now = deps.clock.now();
  await tx
    .insertInto('messages')
    .values({
      conversation_id: input.conversationId,
      seq,
      sender_id: principal.userId,
      sender_device_id: principal.deviceId,
      client_msg_id: input.clientMsgId,
      payload: input.atRest,
      sealed: deps.sealPayloads ? 1 : 0,
      created_at: now,
      kind: input.kind,
    })
    .execute();
  return recordSent(deps, tx, principal, seq, { ...input, sentAt: now });
}

/**
 * Writes the outbox event of a message just stored at `seq` (same transaction) and returns the
 * function that publishes it, to call only after COMMIT. Shared by sends and MLS commits.
 */
export async function recordSent(
  deps: MessagingDeps,
  tx: Tx,
  principal: Principal,
  seq: number,
  m: { conversationId: string; clientMsgId: string; payload: Uint8Array; kind: StoredMessage['kind']; sentAt: number },
): Promise<() => void> {
  const outboxId = await deps.outbox.record(tx, MESSAGE_SENT, {
    conversationId: m.conversationId,
    seq,
  } satisfies MessageSent);
  const message: StoredMessage = {
    conversationId: m.conversationId,
    seq,
    senderId: principal.userId,
    senderDeviceId: principal.deviceId,
    clientMsgId: m.clientMsgId,
    payload: m.payload,
    sentAt: m.sentAt,
    kind: m.kind,
  };
  return () => {
    deps.metrics?.messageSent();
    deps.outbox.published(outboxId, {
      type: MESSAGE_SENT,
      data: { conversationId: m.conversationId, seq, message } satisfies MessageSent,
    });
  };
}
