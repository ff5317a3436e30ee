import type { LocalStore } from './ports.js';

/** This device's own E2EE identity, kept in the local store. */
export interface IdentityRecord {
  userId: string;
  deviceId: string;
  /** base64url of the organisation-signed credential. */
  credential: string;
  /** Ref of the current last-resort KeyPackage (its secret is kept while it is the last resort). */
  lastResortRef?: string;
  /** This device's next application-message counter (strictly increasing, across conversations). */
  counter: number;
}

/** What this device knows about one conversation beside the MLS state. */
export interface ConversationRecord {
  /** Highest seq processed (commit or message), in order. */
  lastSeq: number;
  /** Seq of the commit that brought this device in (messages before it are not for this device). */
  joinedSeq: number;
  /** Seqs of commits this device made (already applied locally when the server accepted them). */
  ownCommits: number[];
  /**
   * Seq from which the conversation is end-to-end encrypted (the first commit this device saw or
   * made). SECURITY: a "sent before end-to-end encryption" message after it is a forgery by the server.
   */
  e2eeSince?: number;
  /** Ids of the Welcomes this device has processed (a replayed one is ignored). */
  welcomes?: string[];
  /** Highest envelope counter seen per sender device (reorder and replay detection). */
  counters: Record<string, number>;
  /** Seqs of the messages kept for display, oldest first (at most {@link KEPT_MESSAGES}). */
  kept?: number[];
}

/** How many decrypted messages a device keeps per conversation (older ones are deleted). */
export const KEPT_MESSAGES = 500;

/**
 * The writes that keep one more message (and drop the oldest beyond {@link KEPT_MESSAGES}); updates
 * `rec.kept`, so save the record in the same `putMany`.
 */
export function keepEntries(
  conversationId: string,
  rec: ConversationRecord,
  m: KeptMessage,
): [string, Uint8Array | undefined][] {
  const key = (seq: number) => `${keys.history(conversationId)}/${String(seq).padStart(12, '0')}`;
  const kept = (rec.kept ?? []).concat(m.seq);
  const out: [string, Uint8Array | undefined][] = [[key(m.seq), json.encode(m)]];
  while (kept.length > KEPT_MESSAGES) out.push([key(kept.shift() as number), undefined]);
  rec.kept = kept;
  return out;
}

/** One message as the device keeps it after decrypting (for the history it shows). */
export interface KeptMessage {
  seq: number;
  senderId: string;
  senderDeviceId: string;
  sentAt: string;
  text: string;
  /** 'e2ee' for end-to-end encrypted, 'legacy' for a message sent before end-to-end encryption. */
  protection: 'e2ee' | 'legacy';
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export const keys = {
  identity: 'identity',
  keyPackage: (ref: string) => `kp/${ref}`,
  group: (c: string) => `group/${c}`,
  conversation: (c: string) => `conv/${c}`,
  history: (c: string) => `hist/${c}`,
  verified: 'verified',
  transparency: 'kt',
} as const;

export const json = {
  encode: (v: unknown): Uint8Array => enc.encode(JSON.stringify(v)),
  decode: <T>(b: Uint8Array | undefined): T | undefined => (b ? (JSON.parse(dec.decode(b)) as T) : undefined),
};

export function newConversationRecord(joinedSeq: number): ConversationRecord {
  return { lastSeq: joinedSeq, joinedSeq, ownCommits: [], counters: {} };
}

export async function readJson<T>(store: LocalStore, key: string): Promise<T | undefined> {
  return json.decode<T>(await store.get(key));
}
