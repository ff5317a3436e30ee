import { ssoProofMessage, type SessionGrant } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import { hashPassword, randomId, randomToken, sha256Hex, verifyEd25519, type OidcClaims } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import type { Tx } from '../store/index.js';
import type { AuthDeps, SsoDeps } from './deps.js';
import { grantOrPending, openSession, prepareSession, type DeviceDescription } from './open-session.js';
import { aadOf, openColumn, scopeOf, sealInTable } from '../keys/index.js';
import { sealForUser } from './sealed.js';
import { applyIdpEmail } from './profile.js';

const SSO_TTL_MS = 10 * 60_000;
const MFA_AMR = new Set(['mfa', 'otp', 'hwk', 'swk', 'fpt', 'sc']);
const aad = (id: string) => aadOf('sso_logins', 'secrets_sealed', id);

function sso(deps: AuthDeps): SsoDeps {
  if (!deps.sso) throw new AppError('sso_not_configured');
  return deps.sso;
}

/** Starts single sign-on for a device: returns the IdP URL to open and the id to complete with. */
export async function startSso(deps: AuthDeps, device: DeviceDescription, address: string) {
  deps.limiter.check('login.address', address);
  const s = sso(deps);
  const { url, secrets } = await s.client.start();
  const id = randomId();
  const now = deps.clock.now();
  await deps.db
    .insertInto('sso_logins')
    .values({
      id, state_hash: sha256Hex(secrets.state), secrets_sealed: await deps.sealer.seal(Buffer.from(JSON.stringify(secrets)), aad(id)),
      device_public_key: device.publicKey, device_name: sealInTable(deps.sealer, 'sso_logins', 'device_name', id, device.name), device_platform: device.platform,
      created_at: now, expires_at: now + SSO_TTL_MS, user_id: null, aal: null, completed_at: null,
    })
    .execute();
  return { ssoId: id, authorizationUrl: url, expiresAt: new Date(now + SSO_TTL_MS).toISOString() };
}

/** True when the IdP asserted multi-factor authentication (amr or an accepted acr). */
export function idpAssertedMfa(claims: OidcClaims, acceptedAcr: string[]): boolean {
  const amr = Array.isArray(claims.amr) ? (claims.amr as unknown[]).map(String) : [];
  return amr.some((m) => MFA_AMR.has(m)) || (typeof claims.acr === 'string' && acceptedAcr.includes(claims.acr));
}

/**
 * The IdP's redirect: exchanges the code (PKCE, state, nonce, issuer and audience checked by
 * openid-client), applies the MFA policy, provisions or links the account, and marks the sign-on
 * ready for its device to collect.
 */
export async function ssoCallback(deps: AuthDeps, callbackUrl: URL, address: string): Promise<void> {
  const s = sso(deps);
  const state = callbackUrl.searchParams.get('state') ?? '';
  const row = await deps.db.selectFrom('sso_logins').selectAll().where('state_hash', '=', sha256Hex(state)).executeTakeFirst();
  const now = deps.clock.now();
  if (!row || row.expires_at <= now || row.user_id !== null) throw new AppError('code_invalid', 'this sign-on is unknown, expired or already used; start again');
  const secrets = JSON.parse(Buffer.from(await deps.sealer.unseal(row.secrets_sealed, aad(row.id))).toString()) as { state: string; nonce: string; codeVerifier: string };
  let claims: OidcClaims;
  try {
    claims = await s.client.finish(callbackUrl, secrets);
  } catch (e) {
    await recordAudit(deps.db, deps.sealer, { at: now, actorId: null, action: 'sso.failed', target: row.id, address, outcome: 'failure', details: { reason: (e as Error).message.slice(0, 200) } });
    throw new AppError('auth_failed', 'the identity provider\'s answer could not be verified');
  }
  const mfa = idpAssertedMfa(claims, s.mfaAcrValues);
  if (s.requireMfa && !mfa) {
    await recordAudit(deps.db, deps.sealer, { at: now, actorId: null, action: 'sso.failed', target: row.id, address, outcome: 'failure', details: { reason: 'no MFA asserted', subject: claims.sub } });
    throw new AppError('sso_mfa_required');
  }
  // A just-in-time account gets this id; its data key must exist before the transaction.
  const newUserId = randomId();
  const linked = await deps.db.selectFrom('external_identities').select('user_id').where('issuer', '=', claims.iss).where('subject', '=', claims.sub).executeTakeFirst();
  if (!linked) await deps.sealer.prepare(scopeOf.user(newUserId));
  const userId = await deps.db.transaction().execute(async (tx) => {
    const userId = await linkOrProvision(deps, tx, s, claims, now, newUserId);
    await tx.updateTable('sso_logins').set({ user_id: userId, aal: mfa ? 2 : 1 }).where('id', '=', row.id).where('user_id', 'is', null).execute();
    await recordAudit(tx, deps.sealer, { at: now, actorId: userId, action: 'sso.verified', target: row.id, address, outcome: 'success', details: { issuer: claims.iss, mfa } });
    return userId;
  });
  // S14: an address the IdP says it verified becomes the user's verified e-mail (never fails the sign-on).
  await applyIdpEmail(deps, userId, claims).catch((e: unknown) => deps.log.warn({ err: (e as Error).message }, 'could not record the e-mail asserted by the IdP'));
}

async function linkOrProvision(deps: AuthDeps, tx: Tx, s: SsoDeps, claims: OidcClaims, now: number, newUserId: string): Promise<string> {
  const linked = await tx.selectFrom('external_identities').select('user_id').where('issuer', '=', claims.iss).where('subject', '=', claims.sub).executeTakeFirst();
  let userId = linked?.user_id;
  if (!userId) {
    // Just-in-time provisioning: a member account linked to the IdP subject; no password login.
    userId = newUserId;
    const base = String(claims.preferred_username ?? claims.email ?? 'user').toLowerCase().replace(/@.*$/, '').replace(/[^a-z0-9._-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 24) || 'user';
    const taken = await tx.selectFrom('users').select('id').where('username', '=', base).executeTakeFirst();
    const username = taken ? `${base}-${randomToken(3).toLowerCase().replace(/[^a-z0-9]/g, 'x')}` : base;
    await tx.insertInto('users').values({ id: userId, username, display_name: sealForUser(deps, userId, 'users', 'display_name', userId, typeof claims.name === 'string' ? claims.name.slice(0, 128) : null), password_hash: await hashPassword(randomToken(), deps.policy.argon2), role: 'member', disabled_at: null, created_at: now, mfa_grace_from: now }).execute();
    await tx.insertInto('external_identities').values({ issuer: claims.iss, subject: claims.sub, user_id: userId, created_at: now }).execute();
    await recordAudit(tx, deps.sealer, { at: now, actorId: userId, action: 'user.provisioned', target: userId, outcome: 'success', details: { issuer: claims.iss } });
  }
  // Role mapping from the IdP's groups: mapped roles are granted (standing, by the IdP).
  const groups = Array.isArray(claims[s.roleClaim]) ? (claims[s.roleClaim] as unknown[]).map(String) : [];
  const roles = [...new Set(groups.map((g) => s.roleMapping[g]).filter((r): r is string => r !== undefined))];
  for (const role of roles) {
    const has = await tx.selectFrom('role_grants').select('id').where('user_id', '=', userId).where('role', '=', role).where('revoked_at', 'is', null).where('kind', '=', 'standing').executeTakeFirst();
    const gid = randomId();
    if (!has) await tx.insertInto('role_grants').values({ id: gid, user_id: userId, role, kind: 'standing', reason: sealInTable(deps.sealer, 'role_grants', 'reason', gid, `mapped from ${s.roleClaim} at ${claims.iss}`), requested_by: null, approved_by: null, approved_at: now, created_at: now, expires_at: null, revoked_at: null }).execute();
  }
  return userId;
}

/**
 * The device that started the sign-on collects its session, proving possession of its key.
 * Returns undefined while the IdP step is not finished.
 */
export async function completeSso(deps: AuthDeps, ssoId: string, signature: string, address: string): Promise<SessionGrant | undefined> {
  const row = await deps.db.selectFrom('sso_logins').selectAll().where('id', '=', ssoId).executeTakeFirst();
  const now = deps.clock.now();
  if (!row || row.expires_at <= now || row.completed_at !== null) throw new AppError('code_invalid', 'this sign-on is unknown, expired or already completed');
  // SECURITY: only the device that started the sign-on can collect the session.
  if (!verifyEd25519(Buffer.from(row.device_public_key, 'base64url'), new TextEncoder().encode(ssoProofMessage(ssoId)), Buffer.from(signature, 'base64url'))) throw new AppError('device_proof_failed');
  if (row.user_id === null) return undefined;
  const userId = row.user_id;
  const deviceName = await openColumn(deps.sealer, 'sso_logins', 'device_name', row.id, row.device_name);
  await prepareSession(deps, userId);
  const r = await deps.db.transaction().execute(async (tx) => {
    const claimed = await tx.updateTable('sso_logins').set({ completed_at: now }).where('id', '=', ssoId).where('completed_at', 'is', null).executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) throw new AppError('code_invalid');
    const user = await tx.selectFrom('users').select(['id', 'mfa_grace_from', 'disabled_at']).where('id', '=', userId).executeTakeFirstOrThrow();
    if (user.disabled_at !== null) throw new AppError('auth_failed');
    return openSession(deps, tx, user, { publicKey: row.device_public_key, name: deviceName, platform: row.device_platform }, row.aal === 2 ? 2 : 1, address, 'sso');
  });
  return grantOrPending(r);
}
