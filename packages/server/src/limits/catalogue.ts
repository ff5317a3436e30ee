/** A token bucket: `burst` tokens, refilled at `perSecond`. */
export interface LimitRule {
  burst: number;
  perSecond: number;
}

/** Every named rate limit in one place (Signal-style catalogue). */
export const LIMITS = {
  /** Login attempts from one address. */
  'login.address': { burst: 20, perSecond: 20 / 60 },
  /** Login attempts against one account name, whatever the address. */
  'login.account': { burst: 10, perSecond: 10 / 300 },
  /** Second-factor attempts against one account (login and step-up). */
  'mfa.account': { burst: 10, perSecond: 10 / 300 },
  /** Passwordless passkey login options from one address (each writes a challenge row; S20). */
  'login.passkey_options': { burst: 20, perSecond: 20 / 60 },
  /** Enrolment attempts from one address. */
  'enrol.address': { burst: 10, perSecond: 10 / 60 },
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
