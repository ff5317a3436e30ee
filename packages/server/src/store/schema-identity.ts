/** Identity, session, key and approval tables (split from schema.ts to keep files small). */
import type { InviteBaseRoleName } from '@palisade/protocol';
import type { ColumnType } from 'kysely';

/** A nullable column that inserts may leave out. */
type Optional<T> = ColumnType<T | null, T | null | undefined, T | null>;

/** Milliseconds since the epoch, stored as a 64-bit integer. */
type Ms = number;

export interface EnrolmentTokensTable {
  /** SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  kind: 'bootstrap' | 'invite';
  role: InviteBaseRoleName;
  /** JSON array of roles granted at enrolment (bootstrap: the first administrator's). */
  grants: string;
  created_by: string | null;
  created_at: Ms;
  expires_at: Ms;
  used_at: Ms | null;
  used_by: string | null;
  /** Set while an invite carrying admin roles waits for a second person (the approvals row id). */
  approval_id: Optional<string>;
  /** The second person who approved such an invite. */
  approved_by: Optional<string>;
}

export interface DevicesTable {
  id: string;
  user_id: string;
  public_key: string;
  name: string;
  platform: string;
  created_at: Ms;
  last_seen_at: Ms;
  revoked_at: Ms | null;
  /** Null while a new device waits for approval from one of the user's devices. */
  approved_at: Ms | null;
  /** Address of the last login from this device (sealed with encryption at rest later). */
  last_address: string | null;
}

export interface SessionsTable {
  id: string;
  /** SHA-256 of the bearer token. */
  token_hash: string;
  user_id: string;
  device_id: string;
  created_at: Ms;
  expires_at: Ms;
  last_used_at: Ms;
  revoked_at: Ms | null;
  /** Authentication assurance level reached: 1 = password only (enrolment grace), 2 = MFA. */
  aal: number;
  /** When a strong factor was last verified in this session (for step-up). */
  strong_auth_at: Ms | null;
  /** Address of the login or the last step-up; requests from another network need a new step-up. */
  login_address: string | null;
  /** How the strong factor was last verified: totp, recovery_code, passkey, passkey_device_bound, sso. */
  strong_auth_method: string | null;
}

export interface AuthenticatorsTable {
  id: string;
  user_id: string;
  kind: 'totp';
  label: string;
  /** The secret, sealed with AAD `authenticators.secret:<id>`. */
  secret_sealed: string;
  /** Highest TOTP step accepted: each code is accepted once. */
  last_used_step: number;
  failures: number;
  last_failure_at: Ms | null;
  created_at: Ms;
  confirmed_at: Ms | null;
  disabled_at: Ms | null;
}

export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  /** SHA-256 of the code (codes are 100-bit random, so a fast hash suffices). */
  code_hash: string;
  created_at: Ms;
  used_at: Ms | null;
}

export interface LoginChallengesTable {
  /** SHA-256 of the challenge token handed to the client after the password step. */
  token_hash: string;
  user_id: string;
  device_public_key: string;
  device_name: string;
  device_platform: string;
  created_at: Ms;
  expires_at: Ms;
  used_at: Ms | null;
  /** Id of the WebAuthn challenge offered with this login, when the user has passkeys. */
  webauthn_challenge_id: string | null;
}

export interface RoleGrantsTable {
  id: string;
  user_id: string;
  role: string;
  kind: 'standing' | 'jit';
  reason: string;
  /** A user id, null (bootstrap or offline CLI), or `idp:<issuer>` for a role mapped from IdP groups. */
  requested_by: string | null;
  /** Null until approved (just-in-time grants need another person's approval). */
  approved_by: string | null;
  approved_at: Ms | null;
  created_at: Ms;
  /** Null for standing grants; just-in-time grants end by themselves. */
  expires_at: Ms | null;
  revoked_at: Ms | null;
}

export interface ApprovalsTable {
  id: string;
  /** A dangerous action that needs two people, e.g. `factor.reset`. */
  action: string;
  /** JSON parameters of the action. */
  params: string;
  reason: string;
  requested_by: string;
  approved_by: string | null;
  status: 'pending' | 'executed' | 'failed' | 'expired';
  created_at: Ms;
  expires_at: Ms;
  decided_at: Ms | null;
}

export interface ServiceTokensTable {
  id: string;
  /** The service account (a users row with role 'service'). */
  user_id: string;
  /** SHA-256 of the token. */
  token_hash: string;
  /** JSON: [{ action, conversations: string[] | '*' }]. */
  scopes: string;
  /** JSON array of allowed source addresses, or null for any. */
  allowed_addresses: string | null;
  rate_per_minute: number;
  created_by: string;
  created_at: Ms;
  expires_at: Ms;
  revoked_at: Ms | null;
  last_used_at: Ms | null;
  /** The bot's own device when the token is bound to a device key (migration 0019); null otherwise. */
  device_id: string | null;
}

export interface PasskeysTable {
  /** Credential id, base64url. */
  id: string;
  user_id: string;
  /** COSE public key, base64url. */
  public_key: string;
  counter: number;
  /** JSON array of transports. */
  transports: string;
  /**
   * 1 only when the key is not backup-eligible and its attestation chains to a root the operator
   * trusts for its AAGUID: the AAL3 factor. Cleared for good when an assertion shows it synced.
   */
  device_bound: number;
  label: string;
  created_at: Ms;
  last_used_at: Ms | null;
  /** Why the key gives AAL3 (`attested`) or only AAL2 (`attestation_none`, `not_in_allowlist`, ...). */
  aal_reason: string;
  /** The authenticator model's AAGUID, as it claims it (null for keys registered before 0013). */
  aaguid: string | null;
}

export interface WebauthnChallengesTable {
  id: string;
  /** Null for a passwordless login that names no user. */
  user_id: string | null;
  purpose: 'register' | 'login' | 'second_factor';
  challenge: string;
  created_at: Ms;
  expires_at: Ms;
  used_at: Ms | null;
}

export interface SsoLoginsTable {
  id: string;
  /** SHA-256 of the OAuth state. */
  state_hash: string;
  /** The nonce and PKCE verifier, sealed (AAD `sso_logins.secrets:<id>`). */
  secrets_sealed: string;
  device_public_key: string;
  device_name: string;
  device_platform: string;
  created_at: Ms;
  expires_at: Ms;
  /** Set by the callback once the IdP has vouched for the user. */
  user_id: string | null;
  aal: number | null;
  completed_at: Ms | null;
  /** SHA-256 of the one-time secret in the device's browser link (S1). */
  begin_hash: Optional<string>;
  /** When the browser link was opened (it works once). */
  begun_at: Optional<Ms>;
  /** SHA-256 of the browser-binding cookie the link set; the callback requires it. */
  browser_hash: Optional<string>;
  /** SHA-256 of the starting device's network (/24 or /48): the browser link must be opened from it. */
  start_network: Optional<string>;
  /** Loopback mode (RFC 8252): the starting device's listener the callback redirects to; null otherwise. */
  loopback_redirect: Optional<string>;
  /** SHA-256 of the one-time completion secret sent to that listener; the device must show the secret. */
  completion_hash: Optional<string>;
}

export interface ExternalIdentitiesTable {
  issuer: string;
  subject: string;
  user_id: string;
  created_at: Ms;
}

export interface DataKeysTable {
  id: string;
  /** What the key protects: `server`, `user:<id>`, `conversation:<id>`, `table:<name>`. */
  scope: string;
  /** KEK version that wraps it. */
  kek_version: number;
  /** The data key wrapped by the KMS (base64); emptied when the key is destroyed. */
  wrapped: string;
  created_at: Ms;
  /** Set when a newer key took over the scope: still opens old values, seals nothing new. */
  retired_at: Ms | null;
  /** Crypto-shredding: the key is gone and so is everything it sealed. */
  destroyed_at: Ms | null;
}
