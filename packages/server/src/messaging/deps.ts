import type { Bus, Clock, Logger, Metrics } from '../core/index.js';
import type { Sealer } from '../crypto/index.js';
import type { RateLimiter, StorageReserve } from '../limits/index.js';
import type { Db } from '../store/index.js';
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
}
