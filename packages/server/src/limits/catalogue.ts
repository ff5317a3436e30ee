/** A token bucket: `burst` tokens, refilled at `perSecond`. */
export interface LimitRule {
  burst: number;
  perSecond: number;
}

/** Every named rate limit in one place (Signal-style catalogue). */
export const LIMITS = {
  /** Login attempts from one exact address (IPv4-mapped IPv6 is its IPv4 address). */
  'login.address': { burst: 20, perSecond: 20 / 60 },
  /** Login attempts from one network: an IPv4 /24 or an IPv6 /64 (one customer's allocation). */
  'login.network': { burst: 30, perSecond: 30 / 60 },
  /**
   * Password changes by one signed-in account (auth/change-password.ts). Logins no longer use a shared
   * per-account bucket: see `LOGIN_FAILURE_DELAY` (growing delays per account and network).
   */
  'login.account': { burst: 10, perSecond: 10 / 300 },
  /** Second-factor attempts against one account (login and step-up). */
  'mfa.account': { burst: 10, perSecond: 10 / 300 },
  /** Enrolment attempts from one address. */
  'enrol.address': { burst: 10, perSecond: 10 / 60 },
  /** Enrolment attempts from one network (IPv4 /24, IPv6 /64). */
  'enrol.network': { burst: 30, perSecond: 30 / 60 },
  /** Messages sent by one device. */
  'message.send': { burst: 5000, perSecond: 2000 },
  /** Ephemeral events (typing) from one device. */
  'ephemeral.send': { burst: 20, perSecond: 5 },
  /** Requests with one service token (each token's own rate replaces this default). */
  'service.token': { burst: 60, perSecond: 1 },
  /** WebSocket handshakes from one address. */
  'connect.address': { burst: 2000, perSecond: 500 },
} as const satisfies Record<string, LimitRule>;

/** Name of a rate limit. */
export type LimitName = keyof typeof LIMITS;

/** A growing delay: the first `free` failures cost nothing, then each one doubles the wait, up to `maxMs`. */
export interface DelayRule {
  free: number;
  baseMs: number;
  maxMs: number;
  /** Failures are forgotten after this long without a new one. */
  forgetMs: number;
  /** When set, one failure is forgiven per this many ms (so a busy shared address recovers). */
  decayMs?: number;
}

/**
 * Wrong passwords for one account from one network (IPv4 /24, IPv6 /64): 5 free, then 2 s, 4 s, ...
 * up to 5 min between attempts. SECURITY (S7): this replaces a hard per-account bucket that anyone could
 * empty to lock the owner out; it slows the source, and a correct password from a known device or a known
 * network of the owner is never refused because of it (auth/login.ts).
 */
export const LOGIN_FAILURE_DELAY: DelayRule = { free: 5, baseMs: 2000, maxMs: 300_000, forgetMs: 24 * 3_600_000 };

/**
 * Wrong passwords from one source address, whatever the account: 10 free, then 1 s, 2 s, ... up to
 * 5 min, one failure forgiven per minute. Applied before the password is checked and never bypassed,
 * so one address that guesses (or sprays many accounts) stays throttled, and does no argon2 work.
 * A success does not reset it (an attacker could otherwise reset it by logging into their own account).
 */
export const LOGIN_SOURCE_DELAY: DelayRule = { free: 10, baseMs: 1000, maxMs: 300_000, forgetMs: 24 * 3_600_000, decayMs: 60_000 };
