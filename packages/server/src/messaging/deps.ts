import type { Bus, Clock, Logger, Metrics } from '../core/index.js';
import type { Sealer } from '../crypto/index.js';
import type { RateLimiter, StorageReserve } from '../limits/index.js';
import type { Db, Tx } from '../store/index.js';
import type { CursorWriter } from './cursor-writer.js';
import type { Outbox } from './outbox.js';
import type { SendQueue } from './send-queue.js';

/** What the messaging use cases need, passed in by the composition root. */
export interface MessagingDeps {
  db: Db;
  clock: Clock;
  bus: Bus;
  limiter: RateLimiter;
  /** Free-disk reserve checked before a message is accepted (absent: not checked, e.g. in unit tests). */
  storage?: StorageReserve;
  outbox: Outbox;
  /** Group commit for sends. */
  sends: SendQueue;
  /** Buffered delivery-cursor writes. */
  cursors: CursorWriter;
  log: Logger;
  /** Counters and timers (absent: nothing is recorded, e.g. in unit tests). */
  metrics?: Metrics;
  /** Envelope encryption of what messaging keeps (names, topics, audit records, and payloads when on). */
  sealer: Sealer;
  /** Seal message payloads at rest (conversation scope); off stores them as received. */
  sealPayloads: boolean;
  /** The end-to-end encryption check of every send (e2ee's `sendGate`, wired by the composition root). */
  gate: SendGate;
}

/** The MLS header facts of a payload, read before the send's transaction (opaque to messaging). */
export type SendTicket = { groupId: Uint8Array; epoch: number } | null;

/**
 * The end-to-end encryption check of a send, kept behind an interface so messaging does not depend
 * on the MLS delivery module (which itself appends commits to the message sequence).
 */
export interface SendGate {
  /** Reads the payload's MLS header outside any transaction; throws `e2ee_required` when it must be MLS and is not. */
  inspect(payload: Uint8Array): SendTicket;
  /**
   * Inside the send's transaction, after the sequence number was taken (the conversation row is locked,
   * so no commit can move the epoch meanwhile): checks the ticket against the group and answers the
   * kind to store. Throws `e2ee_required`, `epoch_conflict` or `roster_stale`.
   */
  admit(tx: Tx, conversationId: string, ticket: SendTicket): Promise<'legacy' | 'mls'>;
}
