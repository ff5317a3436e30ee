import { MAX_PAYLOAD_BYTES } from '@palisade/protocol';
import { sql } from 'kysely';
import { AppError, type Principal } from '../core/index.js';
import { assertScope } from '../rbac/index.js';
import { isUniqueViolation, prepared, type Executor, type Tx } from '../store/index.js';
import type { MessagingDeps } from './deps.js';
import { payloadAtRest, recordSent, takeSeq } from './append.js';

type InsertArgs = [
  conversationId: string,
  seq: number,
  senderId: string,
  deviceId: string,
  clientMsgId: string,
  payload: Uint8Array,
  sealed: number,
  createdAt: number,
  kind: string,
];
/** The message row of a send; `RETURNING` tells a retry (nothing inserted) from a new message. */
const insertMessage = prepared<InsertArgs, { seq: number }>(
  9,
  (conversationId, seq, senderId, deviceId, clientMsgId, payload, sealed, createdAt, kind) => sql`INSERT INTO messages
      (conversation_id, seq, sender_id, sender_device_id, client_msg_id, payload, sealed, created_at, kind)
    VALUES (${conversationId}, ${seq}, ${senderId}, ${deviceId}, ${clientMsgId}, ${payload}, ${sealed}, ${createdAt}, ${kind})
    ON CONFLICT (conversation_id, sender_id, client_msg_id) DO NOTHING
    RETURNING seq`,
);

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
export async function sendMessage(
  deps: MessagingDeps,
  principal: Principal,
  input: SendMessageInput,
): Promise<SendMessageResult> {
  if (input.payload.byteLength > MAX_PAYLOAD_BYTES) throw new AppError('payload_too_large');
  checkSenderLimits(deps, principal, input.payload.byteLength);
  assertScope(principal, 'message.send', input.conversationId);
  deps.storage?.assertRoom(input.payload.byteLength);
  // SECURITY: only MLS application messages of the group's current epoch are stored (e2ee.required).
  const ticket = deps.gate.inspect(input.payload);
  const now = deps.clock.now();
  // SECURITY: the payload (end-to-end ciphertext already) is sealed again at rest, bound to its row.
  // Sealing starts now but the queue slot is taken now too, so a sender's order is kept.
  const sealing = payloadAtRest(deps, principal, input.conversationId, input.clientMsgId, input.payload);
  sealing.catch(() => undefined); // observed in the transaction below
  let outcome: SendMessageResult & { publish?: () => void };
  try {
    outcome = await deps.sends.enqueue(
      async (tx) => {
        // SECURITY: authorize in the same statement that takes the next sequence number (takeSeq).
        const seq = await takeSeq(tx, principal, input.conversationId);
        await checkConversationLimits(deps, tx, input);
        let kind: 'legacy' | 'mls';
        try {
          kind = await deps.gate.admit(tx, input.conversationId, ticket);
        } catch (e) {
          // A retry of a message stored before a commit moved the epoch still answers its first seq.
          const first = await seqOf(tx, principal, input).catch(() => undefined);
          await giveBack(tx, input);
          if (first !== undefined) return { seq: first, duplicate: true };
          throw e;
        }
        const atRest = await sealing; // settled before the transaction opened
        const inserted = (
          await insertMessage(
            tx,
            input.conversationId,
            seq,
            principal.userId,
            principal.deviceId,
            input.clientMsgId,
            atRest,
            deps.sealPayloads ? 1 : 0,
            now,
            kind,
          )
        ).rows[0];
        if (!inserted) {
          // A retry: give the number back (the row is locked by this transaction) and answer the first seq.
          await giveBack(tx, input);
          return { seq: await seqOf(tx, principal, input), duplicate: true };
        }
        const publish = await recordSent(deps, tx, principal, seq, {
          conversationId: input.conversationId,
          clientMsgId: input.clientMsgId,
          payload: input.payload,
          kind,
          sentAt: now,
        });
        return { seq, duplicate: false, publish };
      },
      sealing,
      input.conversationId,
    );
  } catch (e) {
    // Two concurrent sends of the same clientMsgId: the loser reads the winner's seq.
    if (isUniqueViolation(e)) return { seq: await seqOf(deps.db, principal, input), duplicate: true };
    throw e;
  }
  // Only now, after COMMIT, does anyone hear of the message.
  outcome.publish?.();
  return { seq: outcome.seq, duplicate: outcome.duplicate };
}

/** Per-device and per-person budgets (count and bytes): the sender's own buckets, checked first. */
function checkSenderLimits(deps: MessagingDeps, principal: Principal, bytes: number): void {
  deps.limiter.check('message.send', principal.deviceId);
  deps.limiter.check('message.user', principal.userId);
  deps.limiter.check('message.bytes.device', principal.deviceId, Math.max(1, bytes));
  deps.limiter.check('message.bytes.user', principal.userId, Math.max(1, bytes));
}

/**
 * Per-conversation budgets, checked only once the sender is authorized (inside the transaction, after
 * the sequence number was taken): an outsider cannot spend a conversation's budget. When refused, the
 * number is given back (the row is locked by this transaction), so sequence numbers have no gaps.
 */
async function checkConversationLimits(deps: MessagingDeps, tx: Tx, input: SendMessageInput): Promise<void> {
  await giveBackOnRefusal(tx, input, () => {
    deps.limiter.check('message.conversation', input.conversationId);
    deps.limiter.check('message.bytes.conversation', input.conversationId, Math.max(1, input.payload.byteLength));
    return Promise.resolve();
  });
}

/** Runs a check after the sequence number was taken; when it refuses, the number is given back first. */
async function giveBackOnRefusal<T>(tx: Tx, input: SendMessageInput, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (e) {
    await giveBack(tx, input);
    throw e;
  }
}

/** Gives the sequence number taken in this transaction back (the row is locked by it). */
async function giveBack(tx: Tx, input: SendMessageInput): Promise<void> {
  await tx
    .updateTable('conversations')
    .set((eb) => ({ last_seq: eb('last_seq', '-', 1) }))
    .where('id', '=', input.conversationId)
    .execute();
}

async function seqOf(exec: Executor, principal: Principal, input: SendMessageInput): Promise<number> {
  const row = await exec
    .selectFrom('messages')
    .select('seq')
    .where('conversation_id', '=', input.conversationId)
    .where('sender_id', '=', principal.userId)
    .where('client_msg_id', '=', input.clientMsgId)
    .executeTakeFirstOrThrow();
  return Number(row.seq);
}
