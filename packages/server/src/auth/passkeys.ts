import type { SessionGrant } from '@palisade/protocol';
import { AppError, type Principal } from '../core/index.js';
import {
  passkeyAuthenticationOptions,
  passkeyRegistrationOptions,
  randomId,
  verifyPasskeyAuthentication,
  verifyPasskeyRegistration,
  type StoredCredential,
} from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import type { Executor } from '../store/index.js';
import type { AuthDeps } from './deps.js';
import { hasActiveFactor, issueRecoveryCodes } from './factors.js';
import { grantOrPending, openSession, prepareSession, type DeviceDescription } from './open-session.js';
import { scopeOf } from '../keys/index.js';
import { sealedSessionAddress, sealForUser } from './sealed.js';
import { assertRecentStrongAuth } from './step-up.js';
import { dropPendingEnrolments, endOtherSessions } from './factor-changes.js';
import { assertNotLocked, assertSourceAllowed } from './containment.js';

/** WebAuthn challenges live five minutes and are used once. */
const CHALLENGE_TTL_MS = 5 * 60_000;

async function storedPasskeys(exec: Executor, userId: string): Promise<StoredCredential[]> {
  const rows = await exec
    .selectFrom('passkeys')
    .select(['id', 'public_key', 'counter', 'transports'])
    .where('user_id', '=', userId)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    publicKey: Buffer.from(r.public_key, 'base64url'),
    counter: Number(r.counter),
    transports: JSON.parse(r.transports) as string[],
  }));
}

/** Stores a challenge the client must sign; returns its id. */
export async function saveChallenge(
  exec: Executor,
  deps: AuthDeps,
  userId: string | null,
  purpose: 'register' | 'login' | 'second_factor',
  challenge: string,
): Promise<string> {
  const id = randomId();
  const now = deps.clock.now();
  await exec
    .insertInto('webauthn_challenges')
    .values({
      id,
      user_id: userId,
      purpose,
      challenge,
      created_at: now,
      expires_at: now + CHALLENGE_TTL_MS,
      used_at: null,
    })
    .execute();
  return id;
}

/** SECURITY: a challenge is used once, for its purpose, before it expires. */
async function takeChallenge(
  deps: AuthDeps,
  id: string,
  purpose: string,
): Promise<{ challenge: string; userId: string | null }> {
  const now = deps.clock.now();
  const row = await deps.db.selectFrom('webauthn_challenges').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || row.purpose !== purpose || row.used_at !== null || row.expires_at <= now)
    throw new AppError('code_invalid', 'the passkey challenge is unknown, used or expired; start again');
  const r = await deps.db
    .updateTable('webauthn_challenges')
    .set({ used_at: now })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new AppError('code_invalid', 'the passkey challenge was already used');
  return { challenge: row.challenge, userId: row.user_id };
}

/** Starts registering a passkey for the caller (a recent step-up when a factor exists already). */
export async function startPasskeyRegistration(deps: AuthDeps, principal: Principal) {
  if (await hasActiveFactor(deps.db, principal.userId)) assertRecentStrongAuth(deps, principal);
  const existing = await storedPasskeys(deps.db, principal.userId);
  const options = await passkeyRegistrationOptions(
    deps.rp,
    { id: Buffer.from(principal.userId), name: principal.username },
    existing,
  );
  return { challengeId: await saveChallenge(deps.db, deps, principal.userId, 'register', options.challenge), options };
}

/**
 * Verifies and stores the new passkey; returns recovery codes when it is the account's first factor.
 * SECURITY (S2, S5): when the account already has a factor this is a factor change and needs a
 * recent strong factor (checked again here, not only when the options were issued). Every
 * registration is audited and ends the user's other sessions, so a passkey planted during the
 * enrolment grace logs the real user out at once, is listed in `GET /v1/factors` and goes with a
 * factor reset.
 */
export async function finishPasskeyRegistration(
  deps: AuthDeps,
  principal: Principal,
  challengeId: string,
  response: unknown,
  label: string,
  address: string | null = null,
) {
  const { challenge, userId } = await takeChallenge(deps, challengeId, 'register');
  if (userId !== principal.userId) throw new AppError('code_invalid');
  const first = !(await hasActiveFactor(deps.db, principal.userId));
  if (!first) assertRecentStrongAuth(deps, principal);
  const now = deps.clock.now();
  let cred;
  try {
    cred = await verifyPasskeyRegistration(deps.rp, response, challenge, false, now);
  } catch {
    throw new AppError('code_invalid', 'the passkey registration could not be verified');
  }
  await deps.sealer.prepare(scopeOf.user(principal.userId));
  const recoveryCodes = await deps.db.transaction().execute(async (tx) => {
    await tx
      .insertInto('passkeys')
      .values({
        id: cred.id,
        user_id: principal.userId,
        public_key: Buffer.from(cred.publicKey).toString('base64url'),
        counter: cred.counter,
        transports: JSON.stringify(cred.transports),
        device_bound: cred.deviceBound ? 1 : 0,
        aal_reason: cred.aalReason,
        aaguid: cred.aaguid,
        label: sealForUser(deps, principal.userId, 'passkeys', 'label', cred.id, label),
        created_at: now,
        last_used_at: null,
      })
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: principal.userId,
      action: 'factor.enrolled',
      target: cred.id,
      address,
      outcome: 'success',
      details: { kind: 'passkey', deviceBound: cred.deviceBound, aalReason: cred.aalReason, firstFactor: first },
    });
    if (!first) return undefined;
    await dropPendingEnrolments(tx, principal.userId);
    // A registration is not an assertion: the session is multi-factor now, but never AAL3 from it.
    await tx
      .updateTable('sessions')
      .set({ aal: 2, strong_auth_at: now, strong_auth_method: 'passkey' })
      .where('id', '=', principal.sessionId)
      .execute();
    return issueRecoveryCodes(tx, principal.userId, now);
  });
  await endOtherSessions(deps, principal, address);
  return {
    id: cred.id,
    deviceBound: cred.deviceBound,
    aal: cred.aal,
    aalReason: cred.aalReason,
    ...(recoveryCodes ? { recoveryCodes } : {}),
  };
}

/**
 * Options for a passwordless login. SECURITY (S20): rate-limited by address, and always the same
 * discoverable-credential options (no `allowCredentials`), so the answer tells nobody which users
 * exist or have passkeys. Keys that are not discoverable serve as the second factor after a password.
 */
export async function startPasskeyLogin(deps: AuthDeps, address: string) {
  deps.limiter.check('login.passkey_options', address);
  const options = await passkeyAuthenticationOptions(deps.rp, [], 'required');
  return { challengeId: await saveChallenge(deps.db, deps, null, 'login', options.challenge), options };
}

/** Checks an assertion by one of the user's passkeys and moves its counter forward. */
export async function verifyUserPasskey(
  deps: AuthDeps,
  userId: string | null,
  response: unknown,
  challenge: string,
  requireUserVerification: boolean,
): Promise<{ userId: string; deviceBound: boolean }> {
  const credId = (response as { id?: unknown }).id;
  if (typeof credId !== 'string') throw new AppError('code_invalid');
  const row = await deps.db.selectFrom('passkeys').selectAll().where('id', '=', credId).executeTakeFirst();
  if (!row || (userId !== null && row.user_id !== userId)) throw new AppError('code_invalid', 'unknown passkey');
  let result;
  try {
    result = await verifyPasskeyAuthentication(
      deps.rp,
      response,
      challenge,
      {
        id: row.id,
        publicKey: Buffer.from(row.public_key, 'base64url'),
        counter: Number(row.counter),
        transports: JSON.parse(row.transports) as string[],
      },
      requireUserVerification,
    );
  } catch {
    await recordAudit(deps.db, deps.sealer, {
      at: deps.clock.now(),
      actorId: row.user_id,
      action: 'login.failed',
      target: row.id,
      outcome: 'failure',
      details: { step: 'passkey' },
    });
    throw new AppError('code_invalid', 'the passkey assertion could not be verified');
  }
  const now = deps.clock.now();
  // SECURITY (S19): BE/BS are re-read at every assertion; a key that became synced loses AAL3 for good.
  const downgraded = row.device_bound === 1 && result.synced;
  await deps.db.transaction().execute(async (tx) => {
    await tx
      .updateTable('passkeys')
      .set({
        counter: result.newCounter,
        last_used_at: now,
        ...(downgraded ? { device_bound: 0, aal_reason: 'became_synced' } : {}),
      })
      .where('id', '=', row.id)
      .execute();
    if (downgraded)
      await recordAudit(tx, deps.sealer, {
        at: now,
        actorId: row.user_id,
        action: 'factor.downgraded',
        target: row.id,
        outcome: 'success',
        details: { kind: 'passkey', aalReason: 'became_synced' },
      });
  });
  return { userId: row.user_id, deviceBound: row.device_bound === 1 && !downgraded };
}

/**
 * Passwordless login with a passkey. SECURITY: user verification is required (something the user
 * has plus something they know or are), so the session is multi-factor (aal 2) and the device trusted.
 */
export async function finishPasskeyLogin(
  deps: AuthDeps,
  challengeId: string,
  response: unknown,
  device: DeviceDescription,
  address: string,
): Promise<SessionGrant> {
  assertSourceAllowed(deps, address);
  deps.limiter.check('login.address', address);
  const { challenge } = await takeChallenge(deps, challengeId, 'login');
  const { userId, deviceBound } = await verifyUserPasskey(deps, null, response, challenge, true);
  const user = await deps.db
    .selectFrom('users')
    .select(['id', 'mfa_grace_from', 'disabled_at', 'locked_until'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  if (user.disabled_at !== null) throw new AppError('auth_failed');
  assertNotLocked(user, deps.clock.now());
  // A device-bound passkey with user verification is the AAL3-style login; a synced one is AAL2.
  const aal = deviceBound ? 3 : 2;
  await prepareSession(deps, user.id);
  return grantOrPending(
    await deps.db
      .transaction()
      .execute((tx) =>
        openSession(deps, tx, user, device, aal, address, deviceBound ? 'passkey_device_bound' : 'passkey'),
      ),
  );
}

/** When the user has passkeys: options to use one as the second factor of a password login. */
export async function passkeySecondFactor(deps: AuthDeps, userId: string) {
  const allow = await storedPasskeys(deps.db, userId);
  if (allow.length === 0) return undefined;
  const options = await passkeyAuthenticationOptions(deps.rp, allow, 'preferred');
  return { challengeId: await saveChallenge(deps.db, deps, userId, 'second_factor', options.challenge), options };
}

/** Verifies a passkey used as the second factor of a login challenge. */
export async function verifyPasskeySecondFactor(
  deps: AuthDeps,
  userId: string,
  webauthnChallengeId: string | null,
  response: unknown,
): Promise<void> {
  if (!webauthnChallengeId) throw new AppError('code_invalid', 'no passkey was offered for this login');
  const { challenge, userId: owner } = await takeChallenge(deps, webauthnChallengeId, 'second_factor');
  if (owner !== userId) throw new AppError('code_invalid');
  await verifyUserPasskey(deps, userId, response, challenge, false);
}

/** Options to step up with a passkey inside a session (user verification required). */
export async function startPasskeyStepUp(deps: AuthDeps, principal: Principal) {
  const allow = await storedPasskeys(deps.db, principal.userId);
  if (allow.length === 0) throw new AppError('not_found', 'you have no passkey');
  const options = await passkeyAuthenticationOptions(deps.rp, allow, 'required');
  return {
    challengeId: await saveChallenge(deps.db, deps, principal.userId, 'second_factor', options.challenge),
    options,
  };
}

/** Step-up with a passkey: a device-bound one raises the session to AAL3 (12 h absolute, 15 min idle). */
export async function finishPasskeyStepUp(
  deps: AuthDeps,
  principal: Principal,
  challengeId: string,
  response: unknown,
  address: string | null,
): Promise<{ aal: number }> {
  const { challenge, userId } = await takeChallenge(deps, challengeId, 'second_factor');
  if (userId !== principal.userId) throw new AppError('code_invalid');
  const { deviceBound } = await verifyUserPasskey(deps, principal.userId, response, challenge, true);
  const now = deps.clock.now();
  const aal = deviceBound ? 3 : 2;
  const loginAddress = address
    ? { login_address: await sealedSessionAddress(deps, principal.userId, principal.sessionId, address) }
    : {};
  await deps.db.transaction().execute(async (tx) => {
    await tx
      .updateTable('sessions')
      .set({
        aal,
        strong_auth_at: now,
        strong_auth_method: deviceBound ? 'passkey_device_bound' : 'passkey',
        ...loginAddress,
      })
      .where('id', '=', principal.sessionId)
      .execute();
    // SECURITY-BASELINE: an AAL3 session ends at most 12 hours from now.
    if (deviceBound)
      await tx
        .updateTable('sessions')
        .set({ expires_at: now + 12 * 3_600_000 })
        .where('id', '=', principal.sessionId)
        .where('expires_at', '>', now + 12 * 3_600_000)
        .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: principal.userId,
      action: 'step_up.succeeded',
      target: principal.sessionId,
      address,
      outcome: 'success',
      details: { method: 'passkey', deviceBound },
    });
  });
  return { aal };
}
