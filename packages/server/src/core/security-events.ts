/**
 * The security event stream's types. Two sources feed detection:
 * - `SecurityEvent`: a committed audit record, read back in commit (chain) order. Everything that
 *   changes state (logins, grants, devices, sessions, keys, deletions) is one, written in the
 *   transaction of the change it describes.
 * - `SecuritySignal`: a fact that changes nothing stored (a history read, a connection, a throttled
 *   attempt, a rate-limit refusal), published on the bus as it happens and never written.
 * SECURITY: neither ever carries message content, credentials, tokens or keys.
 */

/** What area of security an action belongs to. */
export type SecurityCategory =
  | 'authentication'
  | 'authorization'
  | 'admin'
  | 'key'
  | 'export'
  | 'session'
  | 'device'
  | 'connection'
  | 'rate_limit'
  | 'conversation'
  | 'detection';

/** A committed audit record as a typed event (its sealed address and details opened). */
export interface SecurityEvent {
  /** Position in the audit hash chain: commit order, gap-free. */
  seq: number;
  /** When it happened (UTC ms, the server's clock). */
  at: number;
  /** The audit action, e.g. `login.failed` (see `securityCategory`). */
  action: string;
  category: SecurityCategory;
  actorId: string | null;
  target: string | null;
  address: string | null;
  outcome: 'success' | 'failure';
  details: Record<string, unknown>;
  /** Set when the record was made by drill traffic (the drill's id). */
  drill?: string;
}

/** Fields every signal carries. */
interface SignalBase {
  at: number;
  /** Canonical client address when known. */
  address?: string;
  /** Set when the signal came from drill traffic. */
  drill?: string;
}

/** A fact that changes nothing stored, published as it happens (ephemeral). */
export type SecuritySignal =
  | (SignalBase & {
      kind: 'history.read';
      userId: string;
      deviceId: string;
      conversationId: string;
      /** Messages returned. */
      count: number;
      /** True for a service token. */
      service?: boolean;
    })
  | (SignalBase & { kind: 'connection.opened'; userId: string; deviceId: string; sessionId: string })
  | (SignalBase & {
      kind: 'login.throttled';
      /** The account name tried (lower case); it may not exist. */
      username: string;
    })
  | (SignalBase & {
      kind: 'rate_limited';
      /** The limit's name (`login.address`, `message.send`, ...). */
      limit: string;
      userId?: string;
    });

const PREFIX_CATEGORY: [string, SecurityCategory][] = [
  ['login.', 'authentication'],
  ['mfa.', 'authentication'],
  ['step_up.', 'authentication'],
  ['sso.', 'authentication'],
  ['enrolment.', 'authentication'],
  ['factor.', 'authentication'],
  ['password.', 'authentication'],
  ['passkey.', 'authentication'],
  ['email.', 'authentication'],
  ['authz.', 'authorization'],
  ['elevation.', 'authorization'],
  ['approval.', 'authorization'],
  ['role.', 'admin'],
  ['user.', 'admin'],
  ['invite.', 'admin'],
  ['service_account.', 'admin'],
  ['profile.', 'admin'],
  ['org_key.', 'key'],
  ['key.', 'key'],
  ['keys.', 'key'],
  ['audit.', 'export'],
  ['export.', 'export'],
  ['session.', 'session'],
  ['service_token.', 'session'],
  ['device.', 'device'],
  ['connect.', 'connection'],
  ['rate_limit.', 'rate_limit'],
  ['conversation.', 'conversation'],
  ['member.', 'conversation'],
  ['message.', 'conversation'],
  ['mls.', 'conversation'],
  ['detect.', 'detection'],
  ['alert.', 'detection'],
  ['containment.', 'detection'],
  ['drill.', 'detection'],
];

/** The category of an audit action, by its prefix; unknown prefixes are `admin` (seen by humans, not lost). */
export function securityCategory(action: string): SecurityCategory {
  for (const [p, c] of PREFIX_CATEGORY) if (action.startsWith(p)) return c;
  return 'admin';
}
