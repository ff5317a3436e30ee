import type { SecurityEvent, SecuritySignal } from './security-events.js';

/**
 * The domain-event catalogue: every event type on the Bus and the data it carries. Publishers and
 * subscribers are checked against this map by the compiler. The split into reliable and ephemeral
 * events is the one in docs/architecture.md ("Events"); only reliable events can go through the outbox.
 */

/** A stored message as delivered to devices. The payload is opaque (end-to-end ciphertext). */
export interface StoredMessage {
  conversationId: string;
  seq: number;
  senderId: string;
  senderDeviceId: string;
  clientMsgId: string;
  payload: Uint8Array;
  sentAt: number;
  /** 'legacy', 'mls' (application message) or 'commit' (MLS handshake). */
  kind: 'legacy' | 'mls' | 'commit';
}

/** `message.sent`: published after commit. `message` is absent when replayed from the outbox after a crash. */
export interface MessageSent {
  conversationId: string;
  seq: number;
  message?: StoredMessage;
}

/** `conversation.members_changed`: members joined or left; live sockets update at once. */
export interface MembersChanged {
  conversationId: string;
  added: string[];
  removed: string[];
}

/** `session.revoked`: sessions ended; realtime closes their sockets. */
export interface SessionsRevoked {
  sessionIds: string[];
  reason: 'logout' | 'admin' | 'user_disabled';
}

/** `receipt.updated`: a device received, or a user read, up to `seq` (ephemeral fan-out; cursors are stored). */
export interface ReceiptUpdated {
  conversationId: string;
  userId: string;
  kind: 'delivered' | 'read';
  seq: number;
}

/** `typing.started`: ephemeral, never stored. */
export interface TypingStarted {
  conversationId: string;
  userId: string;
}

/**
 * `mls.welcomes_stored`: a commit added devices; each gets its Welcome. `welcome` (base64url) is absent
 * when replayed from the outbox after a crash (devices then read it with GET /v1/mls/welcomes).
 */
export interface WelcomesStored {
  conversationId: string;
  seq: number;
  welcomes: { id: string; userId: string; deviceId: string }[];
  welcome?: string;
}

/** `mls.key_packages_low`: a claim left a device with fewer than the low-water mark of KeyPackages. */
export interface KeyPackagesLow {
  userId: string;
  deviceId: string;
  stock: number;
}

/** `alert.raised`: a new alert (or a grouped one raised again); security admins online hear of it. */
export interface AlertRaised {
  alertId: string;
  ruleId: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  title: string;
  at: number;
  /** How many findings the alert groups now. */
  count: number;
}

/**
 * Reliable events: written to the outbox in the change's transaction and published after COMMIT;
 * published again at start when the process crashed in between.
 */
export interface ReliableEvents {
  'message.sent': MessageSent;
  'conversation.members_changed': MembersChanged;
  'mls.welcomes_stored': WelcomesStored;
}

/** Ephemeral events: published after COMMIT with nothing written; the state they describe is re-read anyway. */
export interface EphemeralEvents {
  'session.revoked': SessionsRevoked;
  'receipt.updated': ReceiptUpdated;
  'typing.started': TypingStarted;
  'mls.key_packages_low': KeyPackagesLow;
  /** A committed audit record, read back in commit order by the audit feed. */
  'security.recorded': SecurityEvent;
  /** A fact that changes nothing stored (reads, connections, throttling). */
  'security.signal': SecuritySignal;
  'alert.raised': AlertRaised;
}

/** Every event type and the type of its data. */
export interface EventMap extends ReliableEvents, EphemeralEvents {}

/** Name of a domain event, past tense dotted (`message.sent`). */
export type EventType = keyof EventMap;
/** Name of a reliable (outbox) event. */
export type ReliableEventType = keyof ReliableEvents;

/** A domain event: its type and that type's data (a union over `K`, so `type` narrows `data`). */
export type DomainEvent<K extends EventType = EventType> = { [T in K]: { type: T; data: EventMap[T] } }[K];

/**
 * The kind of every event, as data (docs/architecture.md's table is tested against it). The compiler
 * ties it to the two maps above: a key missing, extra, or of the wrong kind does not build.
 */
export const EVENT_KINDS = {
  'message.sent': 'reliable',
  'conversation.members_changed': 'reliable',
  'session.revoked': 'ephemeral',
  'receipt.updated': 'ephemeral',
  'typing.started': 'ephemeral',
  'mls.welcomes_stored': 'reliable',
  'mls.key_packages_low': 'ephemeral',
  'security.recorded': 'ephemeral',
  'security.signal': 'ephemeral',
  'alert.raised': 'ephemeral',
} as const satisfies { [K in EventType]: K extends ReliableEventType ? 'reliable' : 'ephemeral' };

/** True when `type` names a reliable event (an outbox row's type, read back after a crash). */
export function isReliableEventType(type: string): type is ReliableEventType {
  return Object.hasOwn(EVENT_KINDS, type) && EVENT_KINDS[type as EventType] === 'reliable';
}
