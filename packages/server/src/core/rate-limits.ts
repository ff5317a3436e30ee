/**
 * The named rate-limit catalogue (Signal-style), as data. It lives in the kernel so that the config
 * schema (layer 1) can name the limits it overrides without a copy; `limits/` (layer 2) owns the
 * behaviour and re-exports this table.
 */

/** A token bucket: `burst` tokens, refilled at `perSecond`. */
export interface LimitRule {
  burst: number;
  perSecond: number;
}

const MIB = 1024 * 1024;

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
  /** Passwordless passkey login options from one address (each writes a challenge row; S20). */
  'login.passkey_options': { burst: 20, perSecond: 20 / 60 },
  /** Enrolment attempts from one address. */
  'enrol.address': { burst: 10, perSecond: 10 / 60 },
  /** Enrolment attempts from one network (IPv4 /24, IPv6 /64). */
  'enrol.network': { burst: 30, perSecond: 30 / 60 },
  /*
   * Messages (S10). A person types at most a few messages a second; a client flushing its outbox after
   * a reconnect sends a burst. Byte budgets bound what one sender can add to the disk: a device at
   * most 4 MiB a minute (with 4 MiB at once, i.e. 64 full-size 64 KiB payloads), a person over all
   * their devices 8 MiB a minute (about 11 GiB a day at worst, well inside the free-disk reserve's
   * warning time), a conversation 32 MiB a minute. Benchmarks lift these in config (limits.overrides).
   */
  /** Messages sent by one device: 20 a second, bursts of 100. */
  'message.send': { burst: 100, perSecond: 20 },
  /** Messages sent by one person over all their devices and tokens: 30 a second, bursts of 150. */
  'message.user': { burst: 150, perSecond: 30 },
  /** Messages into one conversation from all its members: 100 a second, bursts of 500. */
  'message.conversation': { burst: 500, perSecond: 100 },
  /** Payload bytes sent by one device: 4 MiB a minute, 4 MiB at once. */
  'message.bytes.device': { burst: 4 * MIB, perSecond: (4 * MIB) / 60 },
  /** Payload bytes sent by one person: 8 MiB a minute, 8 MiB at once. */
  'message.bytes.user': { burst: 8 * MIB, perSecond: (8 * MIB) / 60 },
  /** Payload bytes into one conversation: 32 MiB a minute, 16 MiB at once. */
  'message.bytes.conversation': { burst: 16 * MIB, perSecond: (32 * MIB) / 60 },
  /** Ephemeral events (typing) from one device. */
  'ephemeral.send': { burst: 20, perSecond: 5 },
  /** Requests with one service token (each token's own rate replaces this default). */
  'service.token': { burst: 60, perSecond: 1 },
  /**
   * Key-transparency requests by one device (credential, directory, head, proofs, gossip): a client
   * joining a large group verifies a credential per member device; each proof reads the log.
   */
  'kt.device': { burst: 600, perSecond: 60 },
  /** WebSocket handshakes from one address. */
  'connect.address': { burst: 2000, perSecond: 500 },
} as const satisfies Record<string, LimitRule>;

/** Name of a rate limit. */
export type LimitName = keyof typeof LIMITS;

/** Every limit name, in catalogue order (for the config schema's `limits.overrides` keys). */
export const LIMIT_NAMES = Object.keys(LIMITS) as [LimitName, ...LimitName[]];
