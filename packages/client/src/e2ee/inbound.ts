import { MlsError, type MlsGroup } from '../mls/adapter.js';
import { decodeEnvelope } from './envelope.js';
import {
  deviceChanges,
  leafOwner,
  loadGroup,
  loadRecord,
  payloadTag,
  saveEntries,
  type E2eeContext,
} from './context.js';
import { keepEntries, newConversationRecord, type ConversationRecord, type KeptMessage } from './local-records.js';
import type { StoredMessage } from './ports.js';

/** Text of a message sent before end-to-end encryption (JSON `{ "text": ... }`). */
export function legacyText(payload: Uint8Array): string {
  try {
    const v = JSON.parse(new TextDecoder().decode(payload)) as { text?: unknown };
    if (typeof v.text === 'string') return v.text;
  } catch {
    /* not a text message */
  }
  return `<${payload.byteLength} bytes>`;
}

/** What processing one message asks the caller to do next. */
export type InboundOutcome = 'done' | 'skipped' | 'needs_rejoin' | 'needs_welcome' | 'membership' | 'removed';

/**
 * Processes one stored message of a conversation, in seq order, and saves the result atomically
 * (group state, bookkeeping and the kept message in one `putMany`). Own messages were kept when sent.
 * SECURITY: the sender shown is the MLS sender (its verified credential), never the server's claim;
 * a mismatch, a replay or a counter that goes backwards is reported, not hidden.
 */
export async function processInbound(ctx: E2eeContext, m: StoredMessage): Promise<InboundOutcome> {
  const rec: ConversationRecord = (await loadRecord(ctx, m.conversationId)) ?? newConversationRecord(0);
  if (m.seq <= rec.lastSeq) return 'skipped';
  const group = await loadGroup(ctx, m.conversationId);
  const done = async (g: MlsGroup | null | undefined, kept?: KeptMessage) => {
    rec.lastSeq = m.seq;
    const keptEntries = kept ? keepEntries(m.conversationId, rec, kept) : [];
    await ctx.store.putMany([...saveEntries(m.conversationId, g, rec), ...keptEntries]);
    if (kept) ctx.message({ ...kept, conversationId: m.conversationId });
    return 'done' as const;
  };
  const base = { seq: m.seq, senderId: m.senderId, senderDeviceId: m.senderDeviceId, sentAt: m.sentAt };
  if (m.kind === 'legacy') {
    // SECURITY: once the conversation is end-to-end encrypted, a plaintext message can only be the
    // server's forgery (it may claim any sender): refused, and said so.
    if (rec.e2eeSince !== undefined && m.seq > rec.e2eeSince) {
      ctx.notice({ kind: 'forged_plaintext', conversationId: m.conversationId, seq: m.seq });
      return done(undefined);
    }
    return done(undefined, { ...base, text: legacyText(m.payload), protection: 'legacy' });
  }
  if (m.kind === 'commit' && rec.ownCommits.includes(m.seq)) {
    rec.ownCommits = rec.ownCommits.filter((s) => s !== m.seq);
    return done(undefined); // applied when the server accepted it
  }
  if (
    m.kind === 'mls' &&
    m.senderDeviceId === ctx.me.deviceId &&
    (rec.kept?.includes(m.seq) || ctx.outgoing.has(payloadTag(m.payload)))
  )
    return done(undefined); // own message: kept when its ack comes
  if (!group) return m.seq <= rec.joinedSeq ? done(undefined) : 'needs_welcome';
  const peek = safePeek(ctx, m.payload);
  if (m.kind === 'commit' && peek !== undefined && peek < group.epoch) return done(undefined); // before this device joined
  rec.e2eeSince ??= m.seq;
  try {
    const r = await ctx.adapter.process(group, m.payload);
    if (r.kind === 'commit') {
      for (const n of deviceChanges(m.conversationId, r.added, r.removed, ctx.me.deviceId)) ctx.notice(n);
      if (
        r.removed.some((x) => x.leafIndex === group.ownLeafIndex) ||
        !r.group.members().some((x) => x.leafIndex === r.group.ownLeafIndex)
      ) {
        ctx.notice({ kind: 'removed', conversationId: m.conversationId, seq: m.seq });
        await done(null);
        return 'removed';
      }
      await done(r.group);
      return r.added.length > 0 ? 'membership' : 'done';
    }
    if (r.kind !== 'application') return done(r.group);
    const owner = leafOwner(r.sender);
    const env = decodeEnvelope(r.plaintext);
    if (!env.ok) {
      ctx.notice({ kind: 'undecryptable', conversationId: m.conversationId, seq: m.seq, reason: env.code });
      return done(r.group);
    }
    const deviceId = owner?.deviceId ?? '?';
    if (owner && (owner.deviceId !== m.senderDeviceId || owner.userId !== m.senderId))
      ctx.notice({
        kind: 'sender_mismatch',
        conversationId: m.conversationId,
        seq: m.seq,
        claimed: m.senderDeviceId,
        actual: owner.deviceId,
      });
    const last = rec.counters[deviceId] ?? -1;
    if (env.envelope.counter <= last)
      ctx.notice({ kind: 'reordered', conversationId: m.conversationId, seq: m.seq, senderDeviceId: deviceId });
    else rec.counters[deviceId] = env.envelope.counter;
    const text = env.envelope.body;
    return done(r.group, {
      seq: m.seq,
      senderId: owner?.userId ?? m.senderId,
      senderDeviceId: deviceId,
      sentAt: new Date(env.envelope.sentAt).toISOString(),
      text,
      protection: 'e2ee',
    });
  } catch (e) {
    const code = e instanceof MlsError ? e.code : 'invalid';
    // An application message that does not decrypt at an epoch this device holds is passed over with
    // a notice (one bad message must not cost the device its group); only a commit it cannot
    // process, or an epoch beyond its own, means it fell behind and must re-join.
    const behind = m.kind === 'commit' || (code === 'wrong_epoch' && peek !== undefined && peek > group.epoch);
    if (!behind && code !== 'replay' && code !== 'credential_refused') {
      ctx.notice({ kind: 'undecryptable', conversationId: m.conversationId, seq: m.seq, reason: code });
      return done(undefined);
    }
    if (code === 'replay') {
      ctx.notice({ kind: 'replayed', conversationId: m.conversationId, seq: m.seq, senderDeviceId: m.senderDeviceId });
      return done(undefined);
    }
    if (code === 'credential_refused') {
      ctx.notice({ kind: 'member_refused', conversationId: m.conversationId, reason: (e as Error).message });
      return done(undefined);
    }
    ctx.notice({ kind: 'undecryptable', conversationId: m.conversationId, seq: m.seq, reason: code });
    return 'needs_rejoin';
  }
}

function safePeek(ctx: E2eeContext, payload: Uint8Array): number | undefined {
  try {
    return ctx.adapter.peek(payload).epoch;
  } catch {
    return undefined;
  }
}
