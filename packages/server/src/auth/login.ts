import type { LoginRequest, LoginResponse } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import { hashPassword, isValidEd25519PublicKey, randomToken, sha256Hex, verifyPassword } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import type { AuthDeps } from './deps.js';
import { hasActiveFactor } from './factors.js';
import { assessLogin } from './risk.js';
import { passkeySecondFactor } from './passkeys.js';
import { grantOrPending, openSession, prepareSession } from './open-session.js';
import { sealInTable } from '../keys/index.js';

let dummyHash: Promise<string> | undefined;

/**
 * The password step of a login. With a second factor enrolled it returns a short-lived challenge for
 * POST /v1/login/mfa; without one, a password-only (AAL1) session while the enrolment grace lasts.
 * SECURITY: an unknown user, a disabled user and a wrong password all give `auth_failed` after the same
 * argon2 work (a dummy hash is verified for unknown users), so neither the answer nor its timing tells
 * whether the account exists.
 */
export async function login(deps: AuthDeps, input: LoginRequest, address: string): Promise<LoginResponse> {
  deps.limiter.check('login.address', address);
  deps.limiter.check('login.account', input.username.toLowerCase());
  const publicKey = Buffer.from(input.device.publicKey, 'base64url');
  if (!isValidEd25519PublicKey(publicKey)) throw new AppError('invalid_device_key');

  const user = await deps.db.selectFrom('users').selectAll().where('username', '=', input.username).executeTakeFirst();
  dummyHash ??= hashPassword(randomToken(), deps.policy.argon2);
  const ok = await verifyPassword(user?.password_hash ?? (await dummyHash), input.password);
  const now = deps.clock.now();
  if (!user || !ok || user.disabled_at !== null) {
    await recordAudit(deps.db, deps.sealer, { at: now, actorId: user?.id ?? null, action: 'login.failed', address, outcome: 'failure', details: { step: 'password' } });
    throw new AppError('auth_failed', 'wrong user name or password');
  }

  const risk = await assessLogin(deps, user.id, input.device.publicKey, address);
  await recordAudit(deps.db, deps.sealer, { at: now, actorId: user.id, action: 'login.risk_assessed', address, outcome: risk.decision === 'deny' ? 'failure' : 'success', details: { ...risk } });
  if (risk.decision === 'deny') throw new AppError('risk_denied', undefined, { details: { reasons: risk.reasons } });

  // With a second factor every login proves it; risk 'step_up' is met by that proof.
  if (await hasActiveFactor(deps.db, user.id)) {
    const challenge = randomToken(32);
    const expiresAt = now + deps.policy.loginChallengeTtlMs;
    const passkey = await passkeySecondFactor(deps, user.id);
    await deps.db
      .insertInto('login_challenges')
      .values({ token_hash: sha256Hex(challenge), user_id: user.id, device_public_key: input.device.publicKey, device_name: sealInTable(deps.sealer, 'login_challenges', 'device_name', sha256Hex(challenge), input.device.name), device_platform: input.device.platform, created_at: now, expires_at: expiresAt, used_at: null, webauthn_challenge_id: passkey?.challengeId ?? null })
      .execute();
    return {
      mfaRequired: true, challenge, expiresAt: new Date(expiresAt).toISOString(),
      methods: passkey ? ['passkey', 'totp', 'recovery_code'] : ['totp', 'recovery_code'],
      ...(passkey ? { webauthn: passkey.options } : {}),
    };
  }
  // SECURITY-BASELINE: MFA for every account; a password alone only during the enrolment grace.
  if (now >= user.mfa_grace_from + deps.policy.mfaGraceMs) {
    await recordAudit(deps.db, deps.sealer, { at: now, actorId: user.id, action: 'login.failed', address, outcome: 'failure', details: { step: 'mfa_enrolment_overdue' } });
    throw new AppError('mfa_enrolment_required');
  }
  await prepareSession(deps, user.id);
  return grantOrPending(await deps.db.transaction().execute((tx) => openSession(deps, tx, user, input.device, 1, address)));
}
