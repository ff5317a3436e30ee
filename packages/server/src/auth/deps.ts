import type { Bus, Clock, Logger } from '../core/index.js';
import type { PasswordHashParams } from '../crypto/index.js';
import type { RateLimiter } from '../limits/index.js';
import type { Db } from '../store/index.js';

/** Session and enrolment policy, from the `auth` config section. */
export interface AuthPolicy {
  sessionTtlMs: number;
  idleTimeoutMs: number;
  enrolmentTokenTtlMs: number;
  argon2: PasswordHashParams;
}

/** What the auth use cases need, passed in by the composition root. */
export interface AuthDeps {
  db: Db;
  clock: Clock;
  bus: Bus;
  limiter: RateLimiter;
  log: Logger;
  policy: AuthPolicy;
}

/** Event published when sessions end; realtime closes their sockets. */
export const SESSIONS_REVOKED = 'session.revoked';
/** Payload of `session.revoked`. */
export interface SessionsRevoked {
  sessionIds: string[];
  reason: 'logout' | 'admin' | 'user_disabled';
}
