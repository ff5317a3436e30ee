import { decodeDeviceCredential } from '@palisade/protocol';
import type { DeviceIdentity, MlsAdapter, MlsGroup, MlsMember, MlsSuiteName } from '../mls/adapter.js';
import type { ConversationRecord, KeptMessage } from './local-records.js';
import { json, keys, readJson } from './local-records.js';
import type { MemberCheck } from './member-check.js';
import type { DeliveryPort, HistoryPort, LocalStore, SendPort } from './ports.js';

/** Something the person using this device should be told (never silent). */
export type E2eeNotice =
  | { kind: 'joined'; conversationId: string; seq: number; how: 'created' | 'welcome' | 'external' }
  | { kind: 'devices_changed'; conversationId: string; userId: string; added: string[]; removed: string[] }
  | { kind: 'undecryptable'; conversationId: string; seq: number; reason: string }
  | { kind: 'rejoined'; conversationId: string; fromSeq: number; toSeq: number }
  | { kind: 'joined_late'; conversationId: string; missed: number }
  | { kind: 'rejoin_failed'; conversationId: string; reason: string }
  | { kind: 'replayed' | 'reordered'; conversationId: string; seq: number; senderDeviceId: string }
  | { kind: 'sender_mismatch'; conversationId: string; seq: number; claimed: string; actual: string }
  | { kind: 'member_refused'; conversationId: string; reason: string }
  | { kind: 'no_key_packages'; conversationId: string; deviceIds: string[] }
  | { kind: 'forged_plaintext'; conversationId: string; seq: number }
  | { kind: 'removed'; conversationId: string; seq: number };

/** A decrypted (or pre-encryption) message for the application. */
export type E2eeMessage = KeptMessage & { conversationId: string };

/** This device as the end-to-end layer sees it. */
export type Me = DeviceIdentity & { userId: string; deviceId: string };

/** What every part of the end-to-end layer shares. */
export interface E2eeContext {
  adapter: MlsAdapter;
  delivery: DeliveryPort;
  history: HistoryPort;
  send: SendPort;
  store: LocalStore;
  members: MemberCheck;
  me: Me;
  suite: MlsSuiteName;
  notice(n: E2eeNotice): void;
  message(m: E2eeMessage): void;
  /** Tags of this device's sends whose ack has not come yet (their echo is not read as a stranger's). */
  outgoing: Set<string>;
}

/** A short tag of a ciphertext (its last 16 bytes: the AEAD tag), to recognise an own message's echo. */
export function payloadTag(payload: Uint8Array): string {
  return Array.from(payload.subarray(Math.max(0, payload.length - 16)), (b) => b.toString(16).padStart(2, '0')).join(
    '',
  );
}

/** The MLS group id of a conversation (fixed, so every device and the server agree on it). */
export { mlsGroupIdOf as groupIdOf } from '@palisade/protocol';

/** The device and user a leaf belongs to (from its credential), or undefined for a foreign leaf. */
export function leafOwner(m: MlsMember): { userId: string; deviceId: string } | undefined {
  const c = decodeDeviceCredential(m.credential);
  return c.ok ? { userId: c.value.userId, deviceId: c.value.deviceId } : undefined;
}

/** The conversation's saved MLS group, if this device is in one. */
export async function loadGroup(ctx: E2eeContext, conversationId: string): Promise<MlsGroup | undefined> {
  const bytes = await ctx.store.get(keys.group(conversationId));
  return bytes ? ctx.adapter.decodeGroup(bytes) : undefined;
}

export function loadRecord(ctx: E2eeContext, conversationId: string): Promise<ConversationRecord | undefined> {
  return readJson<ConversationRecord>(ctx.store, keys.conversation(conversationId));
}

/** The writes that save a group and its record together (one atomic `putMany`). */
export function saveEntries(
  conversationId: string,
  group: MlsGroup | null | undefined,
  rec: ConversationRecord,
): [string, Uint8Array | undefined][] {
  const out: [string, Uint8Array | undefined][] = [[keys.conversation(conversationId), json.encode(rec)]];
  // A group saves its new state; null forgets it (this device was removed); undefined leaves it.
  if (group) out.push([keys.group(conversationId), group.encode()]);
  else if (group === null) out.push([keys.group(conversationId), undefined]);
  return out;
}

/** Groups added and removed leaves by user, one notice per user whose devices changed. */
export function deviceChanges(
  conversationId: string,
  added: MlsMember[],
  removed: MlsMember[],
  except: string,
): E2eeNotice[] {
  const by = new Map<string, { added: string[]; removed: string[] }>();
  const note = (m: MlsMember, field: 'added' | 'removed') => {
    const o = leafOwner(m);
    if (!o || o.deviceId === except) return;
    const e = by.get(o.userId) ?? { added: [], removed: [] };
    e[field].push(o.deviceId);
    by.set(o.userId, e);
  };
  for (const m of added) note(m, 'added');
  for (const m of removed) note(m, 'removed');
  return [...by].map(([userId, e]) => ({ kind: 'devices_changed', conversationId, userId, ...e }));
}
