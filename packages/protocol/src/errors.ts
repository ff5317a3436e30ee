/**
 * The stable error-code catalogue shared by server and clients.
 * Codes never change meaning once published; docs/protocol.md lists them.
 */

/** Broad class of failure; transports map a kind to an HTTP status or a WebSocket error frame. */
export type ErrorKind =
  'invalid' | 'unauthenticated' | 'forbidden' | 'not_found' | 'conflict' | 'rate_limited' | 'unavailable' | 'internal';

/** Every error code with its kind and a human hint that says what to do next. */
export const ERROR_CODES = {
  bad_request: { kind: 'invalid', hint: 'The request body did not match the schema; see details.' },
  body_too_large: { kind: 'invalid', hint: 'Reduce the size of the request body.' },
  too_deep: { kind: 'invalid', hint: 'The JSON is nested too deeply.' },
  bad_json: { kind: 'invalid', hint: 'The body or frame is not valid JSON.' },
  unknown_frame: { kind: 'invalid', hint: 'The frame type is not part of the protocol.' },
  payload_too_large: { kind: 'invalid', hint: 'A message payload is at most 64 KiB.' },
  weak_password: { kind: 'invalid', hint: 'Choose a longer passphrase that is not common or derived from your name.' },
  invalid_device_key: {
    kind: 'invalid',
    hint: 'The device public key must be a 32-byte Ed25519 key, base64url encoded.',
  },
  bad_http: {
    kind: 'invalid',
    hint: 'The request is not well-formed HTTP/1.1 (request line, headers, URL encoding or Content-Length); fix the client.',
  },
  uri_too_long: { kind: 'invalid', hint: 'A path segment is too long; ids are at most 100 characters.' },
  unsupported_media_type: { kind: 'invalid', hint: 'Send the body as application/json in UTF-8.' },
  headers_too_large: { kind: 'invalid', hint: 'Send fewer or shorter headers.' },
  request_timeout: {
    kind: 'invalid',
    hint: 'Send the whole request faster; the server stops waiting after a configured time.',
  },
  auth_failed: { kind: 'unauthenticated', hint: 'Check the user name and password.' },
  session_invalid: { kind: 'unauthenticated', hint: 'Log in again to get a new session.' },
  device_proof_failed: {
    kind: 'unauthenticated',
    hint: "Sign the server challenge, or each HTTP request afresh (single use, within 30 s), with this session's device key.",
  },
  not_authenticated: { kind: 'unauthenticated', hint: 'Authenticate first.' },
  code_invalid: {
    kind: 'unauthenticated',
    hint: 'The code is wrong, expired or already used; wait for the next code and try again.',
  },
  factor_disabled: {
    kind: 'unauthenticated',
    hint: 'This factor was disabled after too many failures; use a recovery code or ask an admin to reset it.',
  },
  mfa_enrolment_required: {
    kind: 'forbidden',
    hint: 'The enrolment grace period is over; ask an admin to reset your account so you can enrol a second factor.',
  },
  device_approval_required: {
    kind: 'forbidden',
    hint: 'Approve this new device from one of your signed-in devices (or log in with your second factor), then log in again.',
  },
  risk_denied: {
    kind: 'forbidden',
    hint: 'This login looks unsafe; try again from a known device or network later, or contact your administrator.',
  },
  sso_mfa_required: {
    kind: 'forbidden',
    hint: 'Your identity provider did not confirm multi-factor authentication; sign in there with your second factor.',
  },
  sso_browser_mismatch: {
    kind: 'forbidden',
    hint: 'Sign in from the link your Palisade app showed, in the browser on that device; never use a sign-in link someone sent you.',
  },
  sso_loopback_required: {
    kind: 'forbidden',
    hint: 'This server accepts only the loopback sign-on: run the sign-on on the computer whose browser you use (palisade-chat sso without --no-loopback), or update your Palisade app.',
  },
  sso_completion_required: {
    kind: 'forbidden',
    hint: "This sign-on ends at the starting device's loopback listener: send the completion secret it received (the SDK's loopback helper does this).",
  },
  invite_pending: {
    kind: 'forbidden',
    hint: 'This invite carries administrative roles and waits for a second administrator to approve it; try again once it is approved.',
  },
  sso_not_configured: {
    kind: 'unavailable',
    hint: 'Single sign-on is not configured on this server; use a password or passkey.',
  },
  detection_disabled: {
    kind: 'conflict',
    hint: 'Detection is switched off on this server (detect.enabled: false); switch it on in the config to use the security console.',
  },
  account_disabled: {
    kind: 'forbidden',
    hint: 'An administrator disabled this account; ask them to enable it again (palisade-chat admin enable USER).',
  },
  account_locked: {
    kind: 'forbidden',
    hint: 'A security response locked this account for a time; wait, or ask a security administrator to review it.',
  },
  address_blocked: {
    kind: 'forbidden',
    hint: 'Requests from this address or network are blocked for a time after suspicious activity; ask a security administrator.',
  },
  step_up_required: {
    kind: 'forbidden',
    hint: 'Confirm with your second factor first (POST /v1/step-up), then retry.',
  },
  token_invalid: {
    kind: 'unauthenticated',
    hint: 'The enrolment or invite token is unknown, used or expired; ask an admin for a new one.',
  },
  forbidden: { kind: 'forbidden', hint: 'You lack the permission for this action.' },
  not_found: { kind: 'not_found', hint: 'The object does not exist or you cannot see it.' },
  username_taken: { kind: 'conflict', hint: 'Pick another user name.' },
  username_reserved: {
    kind: 'invalid',
    hint: 'User names starting with bot., deleted. or admin (or a look-alike) are reserved for the server; pick another.',
  },
  email_taken: {
    kind: 'conflict',
    hint: 'That e-mail address belongs to another account; use another or ask an administrator.',
  },
  already_member: { kind: 'conflict', hint: 'The user is already a member.' },
  not_disabled: { kind: 'conflict', hint: 'The account is not disabled; there is nothing to enable.' },
  already_decided: { kind: 'conflict', hint: 'This request was approved, executed or expired already.' },
  e2ee_required: {
    kind: 'invalid',
    hint: "Messages must be MLS application messages (PrivateMessage) of the conversation's group; create or join the group first (POST /v1/conversations/:id/mls/commit).",
  },
  epoch_conflict: {
    kind: 'conflict',
    hint: 'The group is at another epoch (details.currentEpoch): fetch and process the commits you missed, then retry.',
  },
  roster_stale: {
    kind: 'conflict',
    hint: 'The group still holds devices that are revoked or whose user left: commit their removal first (GET /v1/conversations/:id/mls lists them as stale).',
  },
  invalid_key_package: {
    kind: 'invalid',
    hint: "A KeyPackage must be a signed MLS KeyPackage of an allowed cipher suite, valid now for at most 90 days, with this device's key and credential; see details.",
  },
  invalid_mls_message: {
    kind: 'invalid',
    hint: 'The MLS message is malformed or is not of the expected kind for this group; see details.',
  },
  device_not_entitled: {
    kind: 'invalid',
    hint: 'Only active devices of current members can be added to the group; refresh the group status.',
  },
  kt_range: {
    kind: 'invalid',
    hint: 'A leaf index must be below the tree size, sizes at most the current tree size, and from <= to.',
  },
  gossip_signature_invalid: {
    kind: 'invalid',
    hint: "The gossip signature must be this device key's signature over the head, and the head the organisation's.",
  },
  rate_limited: { kind: 'rate_limited', hint: 'Slow down and retry after the given delay.' },
  shutting_down: { kind: 'unavailable', hint: 'The server is restarting; reconnect shortly.' },
  unavailable: { kind: 'unavailable', hint: 'A dependency is unavailable; retry later.' },
  storage_full: {
    kind: 'unavailable',
    hint: 'The server is low on disk space and accepts no new messages; nothing already acknowledged is lost. Retry later; the operator must free space.',
  },
  internal: {
    kind: 'internal',
    hint: 'An internal error occurred; the operator can find it in the logs by its reference.',
  },
} as const satisfies Record<string, { kind: ErrorKind; hint: string }>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Shape of every error body (HTTP) and error frame (WebSocket). */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
  retryAfterMs?: number;
}

/** True when `code` is a published error code. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}
