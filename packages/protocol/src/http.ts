import { z } from 'zod';
import { B64Url, DisplayText, Email, Id, Password, ReasonText, Seq, text, TopicText, Username } from './common.js';
import { MAX_GROUP_MEMBERS } from './limits.js';
import { GRANTABLE_ROLES, INVITE_BASE_ROLES } from './roles.js';

/** Roles that are granted on top of the base role (member or guest). */
export const GrantableRole = z.enum(GRANTABLE_ROLES);

/** Device description sent at login. The public key is a raw 32-byte Ed25519 key, base64url. */
export const DeviceInput = z.strictObject({
  publicKey: B64Url(64),
  name: DisplayText,
  platform: text({ min: 1, max: 64 }).default('unknown'),
});

/** POST /v1/enrol: first admin (bootstrap token) or invited user (invite token). */
export const EnrolRequest = z.strictObject({
  token: text({ min: 16, max: 128, kind: 'secret' }),
  username: Username,
  password: Password,
  displayName: DisplayText.optional(),
  email: Email.optional(),
});
export type EnrolRequest = z.infer<typeof EnrolRequest>;

/**
 * POST /v1/enrol/check: whether a token can enrol now, so a client can say so before it asks for a
 * password. See `EnrolCheckResponse` for the answer.
 */
export const EnrolCheckRequest = z.strictObject({ token: text({ min: 16, max: 128, kind: 'secret' }) });
export type EnrolCheckRequest = z.infer<typeof EnrolCheckRequest>;

/**
 * Response of POST /v1/enrol/check: `{ valid: true }`, or `{ valid: false, reason }` where `pending`
 * is a real invite that still awaits a second admin's approval (only the token's holder can learn
 * that) and `invalid` is every other case: unknown, used and expired tokens are not told apart.
 */
export const EnrolCheckResponse = z.discriminatedUnion('valid', [
  z.strictObject({ valid: z.literal(true) }),
  z.strictObject({ valid: z.literal(false), reason: z.enum(['pending', 'invalid']) }),
]);
export type EnrolCheckResponse = z.infer<typeof EnrolCheckResponse>;

/** PATCH /v1/me: my display name and e-mail (null clears the e-mail). */
export const UpdateProfileRequest = z
  .strictObject({ displayName: DisplayText.optional(), email: Email.nullable().optional() })
  .refine((b) => b.displayName !== undefined || b.email !== undefined, 'give displayName or email');
export type UpdateProfileRequest = z.infer<typeof UpdateProfileRequest>;

/** Query of GET /v1/admin/users: exact e-mail lookup (through the server's blind index). */
export const UsersQuery = z.strictObject({ email: Email.optional() });

/** POST /v1/login */
export const LoginRequest = z.strictObject({
  username: text({ min: 1, max: 64, kind: 'machine' }),
  password: Password,
  device: DeviceInput,
});
export type LoginRequest = z.infer<typeof LoginRequest>;

/** A session: the token is shown once and never stored in clear by the server. */
export const SessionGrant = z.object({
  token: z.string(),
  userId: Id,
  deviceId: Id,
  expiresAt: z.string(),
  /** 1: password only (enrolment grace, a second factor must be enrolled); 2: multi-factor. */
  aal: z.number().int(),
  /** Set while the account still has to enrol a second factor, with the deadline. */
  mfaEnrolmentDueBy: z.string().optional(),
});
export type SessionGrant = z.infer<typeof SessionGrant>;

/** After a correct password on an account with a second factor: prove it to get a session. */
export const MfaChallenge = z.object({
  mfaRequired: z.literal(true),
  challenge: z.string(),
  methods: z.array(z.enum(['totp', 'recovery_code', 'passkey'])),
  expiresAt: z.string(),
  /** Options for navigator.credentials.get() when the user has passkeys. */
  webauthn: z.unknown().optional(),
});
export type MfaChallenge = z.infer<typeof MfaChallenge>;

/** Response of POST /v1/login. */
export type LoginResponse = SessionGrant | MfaChallenge;

/** A WebAuthn credential response as browsers serialise it (PublicKeyCredential.toJSON()). */
export const WebauthnResponse = z.strictObject({
  id: text({ min: 1, max: 1024, kind: 'machine' }),
  rawId: text({ min: 1, max: 1024, kind: 'machine' }),
  type: z.literal('public-key'),
  response: z.record(
    text({ max: 64, kind: 'machine' }),
    z.union([text({ max: 16_384, kind: 'machine' }), z.array(text({ max: 32, kind: 'machine' })).max(10)]),
  ),
  clientExtensionResults: z.record(text({ max: 64, kind: 'machine' }), z.unknown()).default({}),
  authenticatorAttachment: text({ max: 32, kind: 'machine' }).optional(),
});

/** POST /v1/login/mfa: finish a login with a TOTP code, a recovery code or a passkey. */
export const MfaLoginRequest = z
  .strictObject({
    challenge: text({ min: 16, max: 128, kind: 'secret' }),
    code: z
      .string()
      .regex(/^\d{6}$/)
      .optional(),
    recoveryCode: text({ min: 8, max: 64, kind: 'secret' }).optional(),
    webauthn: WebauthnResponse.optional(),
  })
  .refine(
    (b) => [b.code, b.recoveryCode, b.webauthn].filter((x) => x !== undefined).length === 1,
    'give exactly one of code, recoveryCode and webauthn',
  );

/** POST /v1/factors/passkey: the browser's answer to the registration options. */
export const PasskeyRegistrationRequest = z.strictObject({
  challengeId: text({ min: 1, max: 64, kind: 'machine' }),
  response: WebauthnResponse,
  label: text({ min: 1, max: 64 }).default('passkey'),
});
/** POST /v1/login/passkey/options */
export const PasskeyLoginOptionsRequest = z.strictObject({
  username: text({ min: 1, max: 64, kind: 'machine' }).optional(),
});
/** POST /v1/login/passkey: passwordless login. */
export const PasskeyLoginRequest = z.strictObject({
  challengeId: text({ min: 1, max: 64, kind: 'machine' }),
  response: WebauthnResponse,
  device: DeviceInput,
});
export type MfaLoginRequest = z.infer<typeof MfaLoginRequest>;

/** A TOTP code (confirm enrolment, step up). */
export const TotpCodeRequest = z.strictObject({ code: z.string().regex(/^\d{6}$/, 'six digits') });

/** POST /v1/conversations */
export const CreateConversationRequest = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('direct'), peer: Username }),
  z.strictObject({
    kind: z.literal('group'),
    name: DisplayText,
    topic: TopicText.optional(),
    members: z.array(Username).max(MAX_GROUP_MEMBERS).default([]),
  }),
]);

/** PATCH /v1/conversations/:id: rename a group or change its topic (owner). */
export const UpdateConversationRequest = z
  .strictObject({ name: DisplayText.optional(), topic: TopicText.nullable().optional() })
  .refine((b) => b.name !== undefined || b.topic !== undefined, 'give name or topic');
export type UpdateConversationRequest = z.infer<typeof UpdateConversationRequest>;
export type CreateConversationRequest = z.infer<typeof CreateConversationRequest>;

/** Conversation as presented to a member. */
export const ConversationView = z.object({
  id: Id,
  kind: z.enum(['direct', 'group']),
  name: z.string().nullable(),
  topic: z.string().nullable(),
  role: z.enum(['owner', 'admin', 'member']),
  lastSeq: Seq,
  members: z.array(z.object({ userId: Id, username: z.string(), role: z.enum(['owner', 'admin', 'member']) })),
});
export type ConversationView = z.infer<typeof ConversationView>;

/** POST /v1/conversations/:id/members */
export const AddMemberRequest = z.strictObject({
  username: Username,
  role: z.enum(['admin', 'member']).default('member'),
});

/** POST /v1/conversations/:id/messages (the HTTP twin of the `send` frame). */
export const SendMessageRequest = z.strictObject({
  clientMsgId: Id,
  payload: text({ max: 100_000, kind: 'machine' }),
});

/** Query of GET /v1/conversations/:id/messages: history paged by sequence. */
export const HistoryQuery = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** POST /v1/invites (admin) */
export const CreateInviteRequest = z.strictObject({
  ttlHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(72),
  /** Base role of the new account. */
  role: z.enum(INVITE_BASE_ROLES).default('member'),
  /** Roles granted at enrolment (needs `role.grant`). */
  grants: z.array(GrantableRole).max(5).default([]),
});

/** POST /v1/admin/users/:id/roles: a standing grant. */
export const GrantRoleRequest = z.strictObject({ role: GrantableRole, reason: ReasonText });

/** POST /v1/elevations: ask for a role for a bounded time. */
export const ElevationRequest = z.strictObject({
  role: GrantableRole,
  minutes: z
    .number()
    .int()
    .min(5)
    .max(8 * 60),
  reason: ReasonText,
});

/** POST /v1/approvals: a dangerous action that a second person must approve. */
export const ApprovalRequest = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('factor.reset'), userId: Id, reason: ReasonText }),
]);
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

/** Path parameter holding one id. */
export const IdParams = z.strictObject({ id: Id });
/** Path parameters holding a user id and a role. */
export const UserRoleParams = z.strictObject({ id: Id, role: GrantableRole });
/** Path parameters holding a conversation id and a user id. */
export const MemberParams = z.strictObject({ id: Id, userId: Id });

/** POST /v1/service-accounts */
export const CreateServiceAccountRequest = z.strictObject({
  name: text({ min: 2, max: 28, kind: 'machine' }).regex(
    /^[a-z0-9][a-z0-9_-]*$/,
    'lower-case letters, digits, _ and -',
  ),
});

/** One scope of a service token. */
export const ServiceScopeSchema = z.strictObject({
  action: z.enum(['message.send', 'conversation.read']),
  conversations: z.union([z.literal('*'), z.array(Id).min(1).max(1000)]),
});

/** POST /v1/service-accounts/:id/tokens: scopes and an expiry are mandatory. */
export const ServiceTokenRequest = z.strictObject({
  scopes: z.array(ServiceScopeSchema).min(1).max(20),
  expiresInDays: z.number().int().min(1).max(90),
  allowedAddresses: z
    .array(text({ min: 2, max: 64, kind: 'machine' }))
    .min(1)
    .max(50)
    .optional(),
  ratePerMinute: z.number().int().min(1).max(6000).default(60),
  /**
   * Binds the token to a device key (a raw 32-byte Ed25519 key, base64url, as at login): the bot gets a
   * trusted device of its own, every request must carry an `X-Palisade-Proof` signed by that key, and the
   * token may then take part in end-to-end encrypted conversations as an MLS member.
   */
  devicePublicKey: B64Url(64).optional(),
});
export type ServiceTokenRequest = z.infer<typeof ServiceTokenRequest>;

/** Path parameters holding a service account id and a token id. */
export const ServiceTokenParams = z.strictObject({ id: Id, tokenId: Id });

/**
 * Where an RFC 8252 loopback sign-on ends: a listener of the starting device on the loopback interface
 * (an IP literal, never a host name; a port a user may bind). The server redirects the browser to
 * `http://<host>:<port>/palisade-sso?ssoId=..&c=<completion secret>`.
 */
export const SsoLoopback = z.strictObject({
  port: z.number().int().min(1024).max(65535),
  host: z.enum(['127.0.0.1', '::1']).default('127.0.0.1'),
});
/** POST /v1/sso/start: begin single sign-on for this device (with `loopback`: the preferred mode). */
export const SsoStartRequest = z.strictObject({ device: DeviceInput, loopback: SsoLoopback.optional() });
/**
 * POST /v1/sso/complete: the device proves it started this sign-on, and collects the session. A loopback
 * sign-on also needs `completion`, the one-time secret its listener received.
 */
export const SsoCompleteRequest = z.strictObject({
  ssoId: Id,
  signature: B64Url(128),
  completion: B64Url(128).optional(),
});

/** POST /v1/password */
export const ChangePasswordRequest = z.strictObject({ currentPassword: Password, newPassword: Password });
