import { DisplayText } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import {
  constantTimeEqual,
  hashPassword,
  OidcRelyingParty,
  randomId,
  randomToken,
  sha256Hex,
  type OidcClaims,
  type OidcRequestSecrets,
} from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import type { Tx } from '../store/index.js';
import type { AuthDeps, SsoDeps } from './deps.js';
import type { DeviceDescription } from './open-session.js';
import { aadOf, openColumn, scopeOf, sealInTable } from '../keys/index.js';
import { sealForUser } from './sealed.js';
import { syncIdpRoles } from './sso-roles.js';
import { networkOf } from './risk.js';
import { unreservedUsername } from './reserved-names.js';
import { applyIdpEmail } from './profile.js';
import { burnSignOn } from './sso-complete.js';

const SSO_TTL_MS = 10 * 60_000;
/** The device's browser link works once, and only this soon after the start. */
const BEGIN_TTL_MS = 3 * 60_000;
/** A loopback sign-on's completion secret must be collected this soon after the callback (the listener needs a second). */
const COMPLETION_TTL_MS = 2 * 60_000;
/** The path of the device's loopback listener the callback redirects to. */
export const SSO_LOOPBACK_PATH = '/palisade-sso';
const MFA_AMR = new Set(['mfa', 'otp', 'hwk', 'swk', 'fpt', 'sc']);
const aad = (id: string) => aadOf('sso_logins', 'secrets_sealed', id);
const LINK_INVALID = 'this sign-in link is unknown, expired or already used; start again on your device';

/**
 * Name of the cookie that binds one browser to one sign-on. `__Host-` makes the browser accept it only
 * over HTTPS, from this exact host, with Path=/ and no Domain (no cookie tossing from a sibling host).
 */
export const ssoCookieName = (ssoId: string): string => `__Host-palisade-sso-${ssoId}`;

/** Where a loopback sign-on ends (RFC 8252 section 7.3): only IP literals of the loopback interface. */
export interface SsoLoopback {
  port: number;
  host?: '127.0.0.1' | '::1';
}

/**
 * The device's listener URL for a loopback sign-on.
 * SECURITY (S1): only the loopback literals 127.0.0.1 and ::1 (never `localhost`, which DNS or a hosts
 * file may point elsewhere) and a port a user may bind: the secret sent there reaches the machine whose
 * browser finished the IdP step, and nothing else.
 */
function loopbackRedirect(l: SsoLoopback): string {
  const host = l.host ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== '::1')
    throw new AppError('bad_request', 'loopback.host must be 127.0.0.1 or ::1');
  if (!Number.isInteger(l.port) || l.port < 1024 || l.port > 65535)
    throw new AppError('bad_request', 'loopback.port must be 1024 to 65535');
  return `http://${host === '::1' ? '[::1]' : host}:${l.port}${SSO_LOOPBACK_PATH}`;
}

function sso(deps: AuthDeps): SsoDeps {
  if (!deps.sso) throw new AppError('sso_not_configured');
  return deps.sso;
}

/**
 * Starts single sign-on for a device. Returns the id to complete with and a one-time secret for the
 * device's browser link (`GET /v1/sso/begin/<ssoId>?k=<beginSecret>`, opened in the browser on the device).
 * With `loopback` (the preferred mode), the callback redirects the browser to the device's loopback
 * listener with a one-time completion secret, which `completeSso` then requires.
 * SECURITY (S1): no IdP URL is handed out here; only the browser that opens the link gets one, together
 * with the cookie the callback requires. With `loopbackRequired`, a start without loopback is refused.
 */
export async function startSso(deps: AuthDeps, device: DeviceDescription, address: string, loopback?: SsoLoopback) {
  deps.limiter.check('login.address', address);
  const s = sso(deps);
  if (!loopback && s.loopbackRequired === true) throw new AppError('sso_loopback_required');
  const redirect = loopback ? loopbackRedirect(loopback) : null;
  const secrets = OidcRelyingParty.newSecrets();
  const beginSecret = randomToken();
  const id = randomId();
  const now = deps.clock.now();
  const secretsSealed = await deps.sealer.seal(Buffer.from(JSON.stringify(secrets)), aad(id));
  await deps.db.transaction().execute(async (tx) => {
    await tx
      .insertInto('sso_logins')
      .values({
        id,
        state_hash: sha256Hex(secrets.state),
        secrets_sealed: secretsSealed,
        device_public_key: device.publicKey,
        device_name: sealInTable(deps.sealer, 'sso_logins', 'device_name', id, device.name),
        device_platform: device.platform,
        created_at: now,
        expires_at: now + SSO_TTL_MS,
        user_id: null,
        aal: null,
        completed_at: null,
        begin_hash: sha256Hex(beginSecret),
        begun_at: null,
        browser_hash: null,
        start_network: sha256Hex(networkOf(address)),
        loopback_redirect: redirect,
        completion_hash: null,
      })
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: null,
      action: 'sso.started',
      target: id,
      address,
      outcome: 'success',
      details: { platform: device.platform, loopback: redirect !== null },
    });
  });
  return { ssoId: id, beginSecret, expiresAt: new Date(now + SSO_TTL_MS).toISOString() };
}

/**
 * The device's browser link: binds this browser to the sign-on with a fresh secret (set as a cookie by
 * the transport) and returns the IdP's authorization URL to redirect to.
 * SECURITY (S1): the link works once, only within BEGIN_TTL_MS of the start and (unless the operator
 * turned `requireSameNetwork` off) only from the starting device's network; its secret is compared in
 * constant time; the cookie secret is stored only as its SHA-256. A loopback sign-on skips the network
 * check: its completion secret goes only to the loopback of the machine whose browser signs in, so a
 * forwarded link yields nothing wherever it is opened (and an SSH port forward of the listener works).
 */
export async function beginSso(deps: AuthDeps, ssoId: string, beginSecret: string, address: string) {
  deps.limiter.check('login.address', address);
  const s = sso(deps);
  const row = await deps.db.selectFrom('sso_logins').selectAll().where('id', '=', ssoId).executeTakeFirst();
  const now = deps.clock.now();
  if (
    !row ||
    !row.begin_hash ||
    row.begun_at !== null ||
    row.user_id !== null ||
    row.expires_at <= now ||
    now - row.created_at > BEGIN_TTL_MS ||
    !constantTimeEqual(sha256Hex(beginSecret), row.begin_hash)
  ) {
    throw new AppError('code_invalid', LINK_INVALID);
  }
  // SECURITY (S1): a link forwarded to someone elsewhere is opened from another network than the device's.
  const sameNetwork = row.start_network === sha256Hex(networkOf(address));
  if (!sameNetwork && s.requireSameNetwork !== false && row.loopback_redirect === null) {
    await deps.db
      .updateTable('sso_logins')
      .set({ expires_at: now })
      .where('id', '=', ssoId)
      .where('begun_at', 'is', null)
      .execute();
    await recordAudit(deps.db, deps.sealer, {
      at: now,
      actorId: null,
      action: 'sso.failed',
      target: row.id,
      address,
      outcome: 'failure',
      details: { reason: 'browser link opened from another network than the device' },
    });
    throw new AppError(
      'sso_browser_mismatch',
      'open the sign-in link in the browser on the device that started it (same network); never use a sign-in link someone sent you',
    );
  }
  const browserSecret = randomToken();
  await deps.db.transaction().execute(async (tx) => {
    const claimed = await tx
      .updateTable('sso_logins')
      .set({ begun_at: now, browser_hash: sha256Hex(browserSecret) })
      .where('id', '=', ssoId)
      .where('begun_at', 'is', null)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) throw new AppError('code_invalid', LINK_INVALID);
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: null,
      action: 'sso.begun',
      target: row.id,
      address,
      outcome: 'success',
      details: { sameNetwork },
    });
  });
  const secrets = JSON.parse(
    Buffer.from(await deps.sealer.unseal(row.secrets_sealed, aad(row.id))).toString(),
  ) as OidcRequestSecrets;
  return {
    authorizationUrl: await s.client.authorizationUrl(secrets),
    cookie: {
      name: ssoCookieName(row.id),
      value: browserSecret,
      maxAgeSeconds: Math.max(1, Math.ceil((row.expires_at - now) / 1000)),
    },
  };
}

/** True when the IdP asserted multi-factor authentication (amr or an accepted acr). */
export function idpAssertedMfa(claims: OidcClaims, acceptedAcr: string[]): boolean {
  const amr = Array.isArray(claims.amr) ? (claims.amr as unknown[]).map(String) : [];
  return amr.some((m) => MFA_AMR.has(m)) || (typeof claims.acr === 'string' && acceptedAcr.includes(claims.acr));
}

/**
 * The IdP's redirect: checks that this is the browser the device opened, exchanges the code (PKCE,
 * state, nonce, issuer and audience checked by openid-client), applies the MFA policy, provisions or
 * links the account, syncs IdP-mapped roles, and marks the sign-on ready for its device to collect.
 * Returns the device it signs in, for the page to name, and for a loopback sign-on the URL to redirect
 * the browser to (the device's listener, with the ssoId and the one-time completion secret).
 */
export async function ssoCallback(
  deps: AuthDeps,
  callbackUrl: URL,
  cookies: Record<string, string>,
  address: string,
): Promise<{ device: { name: string; platform: string }; redirect?: string }> {
  const s = sso(deps);
  const state = callbackUrl.searchParams.get('state') ?? '';
  const row = await deps.db
    .selectFrom('sso_logins')
    .selectAll()
    .where('state_hash', '=', sha256Hex(state))
    .executeTakeFirst();
  const now = deps.clock.now();
  if (!row || row.expires_at <= now || row.user_id !== null)
    throw new AppError('code_invalid', 'this sign-on is unknown, expired or already used; start again');
  // SECURITY (S1): only the browser that opened the device's one-time link holds the cookie. An IdP URL
  // forwarded to someone else lands here without it: the sign-on is burnt before the code is redeemed.
  const presented = cookies[ssoCookieName(row.id)];
  if (!row.browser_hash || presented === undefined || !constantTimeEqual(sha256Hex(presented), row.browser_hash)) {
    await burnSignOn(deps, row.id, 'user_id', now, address, 'browser not bound to this sign-on');
    throw new AppError('sso_browser_mismatch');
  }
  const secrets = JSON.parse(
    Buffer.from(await deps.sealer.unseal(row.secrets_sealed, aad(row.id))).toString(),
  ) as OidcRequestSecrets;
  let claims: OidcClaims;
  try {
    claims = await s.client.finish(callbackUrl, secrets);
  } catch (e) {
    await recordAudit(deps.db, deps.sealer, {
      at: now,
      actorId: null,
      action: 'sso.failed',
      target: row.id,
      address,
      outcome: 'failure',
      details: { reason: (e as Error).message.slice(0, 200) },
    });
    throw new AppError('auth_failed', "the identity provider's answer could not be verified");
  }
  const mfa = idpAssertedMfa(claims, s.mfaAcrValues);
  if (s.requireMfa && !mfa) {
    await recordAudit(deps.db, deps.sealer, {
      at: now,
      actorId: null,
      action: 'sso.failed',
      target: row.id,
      address,
      outcome: 'failure',
      details: { reason: 'no MFA asserted', subject: claims.sub },
    });
    throw new AppError('sso_mfa_required');
  }
  // A just-in-time account gets this id; its data key must exist before the transaction.
  const newUserId = randomId();
  const linked = await deps.db
    .selectFrom('external_identities')
    .select('user_id')
    .where('issuer', '=', claims.iss)
    .where('subject', '=', claims.sub)
    .executeTakeFirst();
  if (!linked) await deps.sealer.prepare(scopeOf.user(newUserId));
  // argon2 runs before the transaction, never inside it (it would hold SQLite's only writer meanwhile).
  const unusableHash = linked ? undefined : await hashPassword(randomToken(), deps.policy.argon2);
  // SECURITY (S1): a loopback sign-on is collectable only with this secret, which goes to the loopback
  // listener of the machine whose browser is here (never to the device that started, if that is elsewhere).
  const completion = row.loopback_redirect !== null ? randomToken() : undefined;
  const userId = await deps.db.transaction().execute(async (tx) => {
    const id = await linkOrProvision(deps, tx, claims, now, newUserId, unusableHash);
    await syncIdpRoles(deps, tx, s, claims, id, now);
    const ready =
      completion === undefined
        ? {}
        : { completion_hash: sha256Hex(completion), expires_at: Math.min(row.expires_at, now + COMPLETION_TTL_MS) };
    const marked = await tx
      .updateTable('sso_logins')
      .set({ user_id: id, aal: mfa ? 2 : 1, ...ready })
      .where('id', '=', row.id)
      .where('user_id', 'is', null)
      .executeTakeFirst();
    if (Number(marked.numUpdatedRows) !== 1)
      throw new AppError('code_invalid', 'this sign-on is unknown, expired or already used; start again');
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: id,
      action: 'sso.verified',
      target: row.id,
      address,
      outcome: 'success',
      details: { issuer: claims.iss, mfa },
    });
    return id;
  });
  // S14: an address the IdP says it verified becomes the user's verified e-mail (never fails the sign-on).
  await applyIdpEmail(deps, userId, claims).catch((e: unknown) =>
    deps.log.warn({ err: (e as Error).message }, 'could not record the e-mail asserted by the IdP'),
  );
  const device = {
    name: await openColumn(deps.sealer, 'sso_logins', 'device_name', row.id, row.device_name),
    platform: row.device_platform,
  };
  if (completion === undefined || row.loopback_redirect === null) return { device };
  const redirect = new URL(row.loopback_redirect);
  redirect.searchParams.set('ssoId', row.id);
  redirect.searchParams.set('c', completion);
  return { device, redirect: redirect.href };
}

/**
 * The IdP's display name, as the HTTP schema would accept it (at most 128 code points, cut on a code
 * point, never inside a surrogate pair; no controls or bidi overrides), or none.
 */
export function idpDisplayName(name: unknown): string | null {
  if (typeof name !== 'string') return null;
  const r = DisplayText.safeParse(Array.from(name).slice(0, 128).join(''));
  return r.success ? r.data : null;
}

async function linkOrProvision(
  deps: AuthDeps,
  tx: Tx,
  claims: OidcClaims,
  now: number,
  newUserId: string,
  unusableHash: string | undefined,
): Promise<string> {
  const linked = await tx
    .selectFrom('external_identities')
    .select('user_id')
    .where('issuer', '=', claims.iss)
    .where('subject', '=', claims.sub)
    .executeTakeFirst();
  let userId = linked?.user_id;
  if (!userId) {
    // The link vanished between the check before the transaction and now (an account purge): start again.
    if (unusableHash === undefined)
      throw new AppError('code_invalid', 'this sign-on is unknown, expired or already used; start again');
    // Just-in-time provisioning: a member account linked to the IdP subject; no password login.
    userId = newUserId;
    const base = unreservedUsername(
      ([claims.preferred_username, claims.email].find((c): c is string => typeof c === 'string' && c !== '') ?? 'user')
        .toLowerCase()
        .replace(/@.*$/, '')
        .replace(/[^a-z0-9._-]/g, '-')
        .replace(/^[^a-z0-9]+/, '')
        .slice(0, 24) || 'user',
    );
    const taken = await tx.selectFrom('users').select('id').where('username', '=', base).executeTakeFirst();
    const username = taken
      ? `${base}-${randomToken(3)
          .toLowerCase()
          .replace(/[^a-z0-9]/g, 'x')}`
      : base;
    await tx
      .insertInto('users')
      .values({
        id: userId,
        username,
        display_name: sealForUser(deps, userId, 'users', 'display_name', userId, idpDisplayName(claims.name)),
        password_hash: unusableHash,
        role: 'member',
        disabled_at: null,
        created_at: now,
        mfa_grace_from: now,
      })
      .execute();
    await tx
      .insertInto('external_identities')
      .values({ issuer: claims.iss, subject: claims.sub, user_id: userId, created_at: now })
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: userId,
      action: 'user.provisioned',
      target: userId,
      outcome: 'success',
      details: { issuer: claims.iss },
    });
  }
  return userId;
}
