import { MlsError, type MlsGroup } from '../mls/adapter.js';
import { decodeEnvelope } from './envelope.js';
import { deviceChanges, leafOwner, loadGroup, loadRecord, saveEntries, type E2eeContext } from './context.js';
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
export type InboundOutcome = 'done' | 'skipped' | 'needs_rejoin' | 'needs_welcome';

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
  const done = async (g: MlsGroup | undefined, kept?: KeptMessage) => {
    rec.lastSeq = m.seq;
    const keptEntries = kept ? keepEntries(m.conversationId, rec, kept) : [];
    await ctx.store.putMany([...saveEntries(m.conversationId, g, rec), ...keptEntries]);
    if (kept) ctx.message({ ...kept, conversationId: m.conversationId });
    return 'done' as const;
  };
  const base = { seq: m.seq, senderId: m.senderId, senderDeviceId: m.senderDeviceId, sentAt: m.sentAt };
  if (m.kind === 'legacy') return done(group, { ...base, text: legacyText(m.payload), protection: 'legacy' });
  if (m.senderDeviceId === ctx.me.deviceId) return done(group); // own commit (applied) or own message (kept)
  if (!group) return m.seq <= rec.joinedSeq ? done(undefined) : 'needs_welcome';
  if (m.kind === 'commit') {
    const peek = safePeek(ctx, m.payload);
    if (peek !== undefined && peek < group.epoch) return done(group); // from before this device joined
  }
  try {
    const r = await ctx.adapter.process(group, m.payload);
    if (r.kind === 'commit') {
      for (const n of deviceChanges(m.conversationId, r.added, r.removed, ctx.me.deviceId)) ctx.notice(n);
      if (!r.group.members().some((x) => x.leafIndex === r.group.ownLeafIndex)) return done(undefined);
      return done(r.group);
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
    if (code === 'replay') {
      ctx.notice({ kind: 'replayed', conversationId: m.conversationId, seq: m.seq, senderDeviceId: m.senderDeviceId });
      return done(group);
    }
    if (code === 'credential_refused') {
      ctx.notice({ kind: 'member_refused', conversationId: m.conversationId, reason: (e as Error).message });
      return done(group);
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
