import type { Bus, Clock, Logger } from '../core/index.js';
import type { RateLimiter } from '../limits/index.js';
import type { Db } from '../store/index.js';
import type { Outbox } from './outbox.js';

/** What the messaging use cases need, passed in by the composition root. */
export interface MessagingDeps {
  db: Db;
  clock: Clock;
  bus: Bus;
  limiter: RateLimiter;
  outbox: Outbox;
  log: Logger;
}
