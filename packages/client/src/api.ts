import type {
  ConversationView,
  EnrolCheckResponse,
  ErrorBody,
  InviteBaseRoleName,
  LoginResponse,
  MessageView,
  SessionGrant,
} from '@palisade/protocol';
import { isErrorCode } from '@palisade/protocol';
import type { DeviceKey } from './device-key.js';
import { PalisadeError } from './errors.js';
import type { HttpTransport } from './transport.js';
import { toBase64 } from './bytes.js';

/** A message as returned by history. */
export type HistoryMessage = MessageView;

/** One second factor as `GET /v1/factors` lists it. */
export interface FactorInfo {
  id: string;
  kind: 'totp' | 'passkey';
  label: string;
  createdAt: string;
  lastUsedAt: string | null;
  confirmed: boolean;
  disabled: boolean;
  failures: number;
  /** 3 only for an attested, device-bound passkey from an authenticator the server trusts. */
  aal: 2 | 3;
  deviceBound: boolean;
  /** Why: `attested`, `attestation_none`, `self_attestation`, `not_in_allowlist`, `untrusted_chain`, `backup_eligible`, `became_synced`, or `otp`. */
  aalReason: string;
}

/** Answer of a role grant: the grant, or (org_admin, security_admin) the two-person request it waits on. */
export type GrantRoleResult = { id: string } | { pendingApproval: string };

/**
 * Typed calls to the HTTP API. Authenticated calls carry the bearer token in a header (never the URL)
 * and a device-key proof over the method, path, body, session and time (single use, 30 s).
 */
export class Api {
  token: string | undefined;
  /** The last proof time used; proofs get strictly increasing times so none repeats. */
  private lastProofMs = 0;

  constructor(
    private readonly http: HttpTransport,
    private readonly key: DeviceKey,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async call<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    const headers: Record<string, string> = {};
    // Serialised once: the proof signs exactly the bytes the transport sends.
    const text = body === undefined ? undefined : JSON.stringify(body);
    if (auth) {
      if (!this.token) throw new PalisadeError({ code: 'not_authenticated', message: 'log in first' });
      headers.authorization = `Bearer ${this.token}`;
      headers['x-palisade-proof'] = this.signedProof(method, path, this.token, text);
    }
    let res;
    try {
      res = await this.http.request(method, path, text, headers);
    } catch (e) {
      // The transport's error stays as `cause` (e.g. a PinMismatchError), for a precise hint.
      throw Object.assign(
        new PalisadeError({ code: 'network', message: `cannot reach the server: ${(e as Error).message}` }),
        { cause: e },
      );
    }
    if (res.status >= 400) {
      const b = (res.body ?? {}) as Partial<ErrorBody>;
      throw new PalisadeError(
        { ...b, code: typeof b.code === 'string' && isErrorCode(b.code) ? b.code : 'internal' },
        res.status,
      );
    }
    return res.body as T;
  }

  /**
   * An `X-Palisade-Proof` value for a request this client sends itself (raw HTTP): the same proof
   * `call` uses, with a fresh strictly increasing time.
   */
  signedProof(method: string, pathAndQuery: string, token: string, bodyText?: string): string {
    const ts = Math.max(this.now(), this.lastProofMs + 1);
    this.lastProofMs = ts;
    return this.key.httpProof(method, pathAndQuery, ts, token, bodyText);
  }

  /**
   * Whether an enrolment or invite token can enrol now: `{ valid: true }`, or `{ valid: false, reason }`
   * with `pending` (an invite awaiting a second admin's approval) or `invalid`; rate-limited like enrol.
   */
  checkEnrolToken(token: string) {
    return this.call<EnrolCheckResponse>('POST', '/v1/enrol/check', { token }, false);
  }

  enrol(input: { token: string; username: string; password: string; displayName?: string; email?: string }) {
    return this.call<{ userId: string; role: string }>('POST', '/v1/enrol', input, false);
  }

  async login(input: {
    username: string;
    password: string;
    deviceName: string;
    platform?: string;
  }): Promise<LoginResponse> {
    const r = await this.call<LoginResponse>(
      'POST',
      '/v1/login',
      {
        username: input.username,
        password: input.password,
        device: { publicKey: this.key.publicKey, name: input.deviceName, platform: input.platform ?? 'unknown' },
      },
      false,
    );
    if (!('mfaRequired' in r)) this.token = r.token;
    return r;
  }

  /** Second login step after `mfaRequired`: a TOTP code or a recovery code. */
  async loginMfa(challenge: string, proof: { code: string } | { recoveryCode: string }): Promise<SessionGrant> {
    const r = await this.call<SessionGrant>('POST', '/v1/login/mfa', { challenge, ...proof }, false);
    this.token = r.token;
    return r;
  }

  /**
   * Starts single sign-on for this device: open `browserUrl` in the browser on this same device (it works
   * once, within 3 minutes). Never show or send `browserUrl` to anyone else.
   * With `loopback` (preferred; `ssoLoopbackSignIn` in `@palisade/client/node` does it all), the browser
   * ends at `http://127.0.0.1:<port>/palisade-sso?ssoId=..&c=..` on the machine it runs on: pass `c` to
   * `ssoComplete`. Without it, poll `ssoComplete` until it returns a session.
   */
  ssoStart(
    deviceName: string,
    platform = 'unknown',
    opts: { loopback?: { port: number; host?: '127.0.0.1' | '::1' } } = {},
  ) {
    const body = {
      device: { publicKey: this.key.publicKey, name: deviceName, platform },
      ...(opts.loopback ? { loopback: opts.loopback } : {}),
    };
    return this.call<{ ssoId: string; browserUrl: string; expiresAt: string }>('POST', '/v1/sso/start', body, false);
  }

  /**
   * Collects the session once the browser sign-in is done; undefined while it is not. A loopback sign-on
   * needs `completion`, the `c` its listener received (single use).
   */
  async ssoComplete(ssoId: string, completion?: string): Promise<SessionGrant | undefined> {
    const body = { ssoId, signature: this.key.signSso(ssoId), ...(completion === undefined ? {} : { completion }) };
    const r = await this.call<SessionGrant | { pending: true }>('POST', '/v1/sso/complete', body, false);
    if ('pending' in r) return undefined;
    this.token = r.token;
    return r;
  }

  /** WebAuthn: registration options, then the browser's answer (navigator.credentials.create()). */
  passkeyRegistrationOptions = () =>
    this.call<{ challengeId: string; options: unknown }>('POST', '/v1/factors/passkey/options', {});
  /** Registers the passkey; `aal` is 3 only for an attested, device-bound key the server trusts, and `aalReason` says why. */
  registerPasskey = (challengeId: string, response: unknown, label = 'passkey') =>
    this.call<{ id: string; deviceBound: boolean; aal: 2 | 3; aalReason: string; recoveryCodes?: string[] }>(
      'POST',
      '/v1/factors/passkey',
      { challengeId, response, label },
    );
  /**
   * WebAuthn: passwordless login options (discoverable credentials; the server ignores any user
   * name so the options reveal nobody), then the browser's answer (navigator.credentials.get()).
   */
  passkeyLoginOptions = () =>
    this.call<{ challengeId: string; options: unknown }>('POST', '/v1/login/passkey/options', {}, false);
  async loginWithPasskey(
    challengeId: string,
    response: unknown,
    deviceName: string,
    platform = 'unknown',
  ): Promise<SessionGrant> {
    const r = await this.call<SessionGrant>(
      'POST',
      '/v1/login/passkey',
      { challengeId, response, device: { publicKey: this.key.publicKey, name: deviceName, platform } },
      false,
    );
    this.token = r.token;
    return r;
  }

  changePassword = (currentPassword: string, newPassword: string) =>
    this.call<object>('POST', '/v1/password', { currentPassword, newPassword });
  /** My factors: authenticator apps and passkeys, with when they were added and last used and their assurance. */
  factors = () => this.call<{ factors: FactorInfo[]; recoveryCodesLeft: number }>('GET', '/v1/factors');
  /** Starts an authenticator-app enrolment; confirm it within 10 minutes (`expiresAt`). */
  enrolTotp = () =>
    this.call<{ id: string; secret: string; uri: string; expiresAt: string }>('POST', '/v1/factors/totp', {});
  /** Confirms the app; recovery codes come back only when it is the account's first factor. Other sessions end. */
  confirmTotp = (id: string, code: string) =>
    this.call<{ recoveryCodes?: string[] }>('POST', `/v1/factors/totp/${encodeURIComponent(id)}/confirm`, { code });
  /** Removes an authenticator app or a passkey (step up first). Other sessions end. */
  removeFactor = (id: string) => this.call<object>('DELETE', `/v1/factors/${encodeURIComponent(id)}`);
  stepUp = (code: string) => this.call<object>('POST', '/v1/step-up', { code });
  regenerateRecoveryCodes = () => this.call<{ recoveryCodes: string[] }>('POST', '/v1/factors/recovery-codes', {});

  logout = () => this.call<object>('POST', '/v1/logout');
  me = () =>
    this.call<{
      userId: string;
      username: string;
      roles: string[];
      aal: number;
      deviceId: string;
      displayName: string | null;
      email: string | null;
    }>('GET', '/v1/me');
  /** Changes my display name and/or e-mail (null clears the e-mail). */
  updateProfile = (change: { displayName?: string; email?: string | null }) =>
    this.call<object>('PATCH', '/v1/me', change);
  conversations = async () =>
    (await this.call<{ conversations: ConversationView[] }>('GET', '/v1/conversations')).conversations;
  openDirect = (peer: string) =>
    this.call<{ id: string; created: boolean }>('POST', '/v1/conversations', { kind: 'direct', peer });
  createGroup = (name: string, members: string[], topic?: string) =>
    this.call<{ id: string }>('POST', '/v1/conversations', {
      kind: 'group',
      name,
      members,
      ...(topic ? { topic } : {}),
    });
  /** Renames a group or changes its topic (owners). */
  updateConversation = (conversationId: string, change: { name?: string; topic?: string | null }) =>
    this.call<object>('PATCH', `/v1/conversations/${encodeURIComponent(conversationId)}`, change);
  /** Deletes a group and everything in it (owners); the server destroys its data key. */
  deleteConversation = (conversationId: string) =>
    this.call<object>('DELETE', `/v1/conversations/${encodeURIComponent(conversationId)}`);
  /** Admin: every account, or the one with this e-mail. */
  users = async (email?: string) =>
    (
      await this.call<{ users: { id: string; username: string; displayName: string | null; email: string | null }[] }>(
        'GET',
        `/v1/admin/users${email ? `?email=${encodeURIComponent(email)}` : ''}`,
      )
    ).users;
  /** Admin: deletes an account and destroys its data key (needs a recent step-up). */
  deleteUser = (userId: string) => this.call<object>('DELETE', `/v1/admin/users/${encodeURIComponent(userId)}`);
  addMember = (conversationId: string, username: string, role: 'admin' | 'member' = 'member') =>
    this.call<{ userId: string }>('POST', `/v1/conversations/${encodeURIComponent(conversationId)}/members`, {
      username,
      role,
    });
  removeMember = (conversationId: string, userId: string) =>
    this.call<object>(
      'DELETE',
      `/v1/conversations/${encodeURIComponent(conversationId)}/members/${encodeURIComponent(userId)}`,
    );
  history = async (conversationId: string, after = 0, limit = 100) =>
    (
      await this.call<{ messages: HistoryMessage[] }>(
        'GET',
        `/v1/conversations/${encodeURIComponent(conversationId)}/messages?after=${after}&limit=${limit}`,
      )
    ).messages;
  /**
   * Sends an opaque payload over HTTP (the route a bot without a live connection uses); with
   * end-to-end encryption required the server takes only an MLS application message. Idempotent on
   * `clientMsgId`: a retry returns the first send's seq.
   */
  sendMessage = (conversationId: string, payload: Uint8Array, clientMsgId: string) =>
    this.call<{ seq: number; duplicate: boolean }>(
      'POST',
      `/v1/conversations/${encodeURIComponent(conversationId)}/messages`,
      { clientMsgId, payload: toBase64(payload) },
    );
  /** Admin: an invite token; with org_admin or security_admin in `grants`, it is unusable until a second admin approves `pendingApproval`. */
  invite = (role: InviteBaseRoleName = 'member', ttlHours = 72, grants: string[] = []) =>
    this.call<{ token: string; expiresAt: string; pendingApproval?: string }>('POST', '/v1/invites', {
      role,
      ttlHours,
      grants,
    });
  /**
   * Admin: grants a standing role (needs a recent step-up). org_admin and security_admin are not
   * granted at once: the answer is `{ pendingApproval }`, which a second, independent holder of
   * role.grant approves with `approve`.
   */
  grantRole = (userId: string, role: string, reason: string) =>
    this.call<GrantRoleResult>('POST', `/v1/admin/users/${encodeURIComponent(userId)}/roles`, { role, reason });
  /** Approves and runs another person's two-person request (needs its permission and a recent step-up). */
  approve = (approvalId: string) =>
    this.call<object>('POST', `/v1/approvals/${encodeURIComponent(approvalId)}/approve`);
  sessions = () =>
    this.call<{ sessions: { id: string; deviceName: string; current: boolean }[] }>('GET', '/v1/sessions');
}
