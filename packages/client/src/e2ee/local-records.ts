import { fromBase64Url } from '../bytes.js';
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
  /** Highest envelope counter seen per sender device (reorder and replay detection). */
  counters: Record<string, number>;
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
/** How many decrypted messages a device keeps per conversation. */
export const KEPT_MESSAGES = 500;

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

/** The credential bytes of an identity record. */
export function credentialBytes(r: IdentityRecord): Uint8Array {
  return fromBase64Url(r.credential);
}

/** Appends to a kept history, keeping the last {@link KEPT_MESSAGES}. */
export function appendKept(history: KeptMessage[], m: KeptMessage): KeptMessage[] {
  const next = history.concat(m);
  return next.length > KEPT_MESSAGES ? next.slice(next.length - KEPT_MESSAGES) : next;
}
