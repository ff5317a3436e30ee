import { AppError } from '../core/index.js';
import type { SendGate, SendTicket } from '../messaging/index.js';
import { sql } from 'kysely';
import { prepared, type Tx } from '../store/index.js';
import { peekMls } from './mls-wire.js';
import { hasStaleDevice } from './roster.js';

const notMls = (why: string) => new AppError('e2ee_required', `${why}: send an MLS application message`);

/** Bytes equality (group ids). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const groupOf = prepared<[conversationId: string], { group_id: Uint8Array; epoch: number; suite: string }>(
  1,
  (conversationId) => sql`SELECT group_id, epoch, suite FROM mls_groups WHERE conversation_id = ${conversationId}`,
);

/** The group's current epoch, or undefined when the conversation has no group yet. */
export async function currentGroup(
  tx: Tx,
  conversationId: string,
): Promise<{ groupId: Uint8Array; epoch: number; suite: string } | undefined> {
  const g = (await groupOf(tx, conversationId)).rows[0];
  return g && { groupId: g.group_id, epoch: Number(g.epoch), suite: g.suite };
}

/**
 * The send path's end-to-end encryption check (messaging's {@link SendGate}).
 * SECURITY: with `required`, a payload is stored only when it peeks as an MLS PrivateMessage of
 * content type application, for this conversation's group at its CURRENT epoch, and the group holds no
 * device that lost its entitlement (`roster_stale`: the sender must commit their removal first).
 * Without `required` (legacy test harnesses only), non-MLS payloads are stored as kind 'legacy'.
 */
export function sendGate(required: boolean): SendGate {
  return {
    inspect(payload: Uint8Array): SendTicket {
      const p = peekMls(payload);
      if (p?.wireformat === 'private_message' && p.contentType === 'application' && p.groupId && p.epoch !== undefined)
        return { groupId: p.groupId, epoch: p.epoch };
      if (required) throw notMls('the payload is not an MLS application message');
      return null;
    },
    async admit(tx: Tx, conversationId: string, ticket: SendTicket): Promise<'legacy' | 'mls'> {
      if (!ticket) {
        if (required) throw notMls('the payload is not an MLS application message');
        return 'legacy';
      }
      const g = await currentGroup(tx, conversationId);
      if (!g) {
        if (!required) return 'legacy';
        throw notMls('the conversation has no MLS group yet');
      }
      if (!sameBytes(g.groupId, ticket.groupId)) throw notMls("the message is not for this conversation's group");
      if (g.epoch !== ticket.epoch)
        throw new AppError('epoch_conflict', `the group is at epoch ${g.epoch}`, {
          details: { currentEpoch: g.epoch },
        });
      if (await hasStaleDevice(tx, conversationId)) throw new AppError('roster_stale');
      return 'mls';
    },
  };
}
