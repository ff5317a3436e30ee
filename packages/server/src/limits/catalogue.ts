export { LIMITS, type LimitName, type LimitRule } from '../core/index.js';

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
export const LOGIN_SOURCE_DELAY: DelayRule = {
  free: 10,
  baseMs: 1000,
  maxMs: 300_000,
  forgetMs: 24 * 3_600_000,
  decayMs: 60_000,
};
