import type { Bus, Clock, Logger, Metrics } from '../core/index.js';
import type { OidcRelyingParty, PasswordHashParams, RelyingParty, Sealer } from '../crypto/index.js';
import type { AddressBlocks, RateLimiter } from '../limits/index.js';
import type { Db } from '../store/index.js';

/** Session and enrolment policy, from the `auth` config section. */
export interface AuthPolicy {
  sessionTtlMs: number;
  idleTimeoutMs: number;
  enrolmentTokenTtlMs: number;
  argon2: PasswordHashParams;
  /** How long a new account may log in with a password alone to enrol a second factor. */
  mfaGraceMs: number;
  /** Consecutive failures after which a factor is disabled (800-63B-4: at most 100). */
  maxFactorFailures: number;
  /** How recent a strong factor must be for sensitive actions. */
  stepUpWindowMs: number;
  /** Lifetime of the challenge between the password and the second-factor step. */
  loginChallengeTtlMs: number;
  /** The organisation's name (config `org.name`): a context word no password may be built around. */
  orgName?: string;
  /** When true, holders of admin and security roles step up only with a device-bound passkey (AAL3). */
  adminsRequirePhishingResistant?: boolean;
}

/** What the auth use cases need, passed in by the composition root. */
export interface AuthDeps {
  db: Db;
  clock: Clock;
  bus: Bus;
  limiter: RateLimiter;
  log: Logger;
  /** Counters and timers (absent: nothing is recorded, e.g. in unit tests). */
  metrics?: Metrics;
  policy: AuthPolicy;
  /** Seals factor secrets at rest. */
  sealer: Sealer;
  /** The WebAuthn relying party (RP ID and allowed origins). */
  rp: RelyingParty;
  /** Single sign-on, when configured. */
  sso?: SsoDeps;
  /** Address and network blocks of response containments (absent: nothing is blocked). */
  blocks?: AddressBlocks;
}

/** Event published when sessions end (ephemeral); realtime closes their sockets. Data: `SessionsRevoked`. */
export const SESSIONS_REVOKED = 'session.revoked';
export type { SessionsRevoked } from '../core/index.js';

/** Single sign-on settings and the OpenID Connect client. */
export interface SsoDeps {
  client: OidcRelyingParty;
  /** Palisade's callback URL as registered at the IdP. */
  redirectUri: string;
  issuer: string;
  roleClaim: string;
  roleMapping: Record<string, string>;
  requireMfa: boolean;
  mfaAcrValues: string[];
  /** Refuse a browser link opened from another network than the device that started (default true; not applied to loopback sign-ons). */
  requireSameNetwork?: boolean;
  /** Refuse a sign-on that does not end at the device's loopback listener (default false). */
  loopbackRequired?: boolean;
}
