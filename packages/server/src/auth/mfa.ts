import type { MfaLoginRequest, SessionGrant } from '@palisade/protocol';
import { AppError, type Principal } from '../core/index.js';
import { sha256Hex, verifyTotp } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import type { AuthDeps } from './deps.js';
import { recoveryHash, totpAad } from './factors.js';
import { grantOrPending, openSession, prepareSession } from './open-session.js';
import { openColumn } from '../keys/index.js';
import { sealedSessionAddress } from './sealed.js';
import { verifyPasskeySecondFactor } from './passkeys.js';
import { assertNotLocked, assertSourceAllowed } from './containment.js';

/** Growing delay after repeated failures: none for the first 5, then 2^(n-5) s, at most 5 minutes. */
export function failureDelayMs(failures: number): number {
  return failures < 5 ? 0 : Math.min(2 ** (failures - 5), 300) * 1000;
}

/**
 * Verifies a TOTP code against the user's enabled factors.
 * SECURITY (800-63B-4 §3.2.2, ASVS 6.5.x): each code is accepted once (its step must be above the
 * last used one); consecutive failures grow a delay and at `maxFactorFailures` disable the factor.
 */
export async function verifyTotpFactor(
  deps: AuthDeps,
  userId: string,
  code: string,
  address: string | null,
): Promise<void> {
  const factors = await deps.db
    .selectFrom('authenticators')
    .selectAll()
    .where('user_id', '=', userId)
    .where('kind', '=', 'totp')
    .where('confirmed_at', 'is not', null)
    .execute();
  const now = deps.clock.now();
  const enabled = factors.filter((f) => f.disabled_at === null);
  if (enabled.length === 0) throw new AppError(factors.length > 0 ? 'factor_disabled' : 'code_invalid');
  for (const f of enabled) {
    const wait = f.last_failure_at === null ? 0 : f.last_failure_at + failureDelayMs(f.failures) - now;
    if (wait > 0)
      throw new AppError('rate_limited', 'too many wrong codes; wait before trying again', { retryAfterMs: wait });
    const step = verifyTotp(
      Buffer.from(await deps.sealer.unseal(f.secret_sealed, totpAad(f.id))).toString(),
      code,
      now,
    );
    if (step === undefined || step <= Number(f.last_used_step)) continue;
    // Conditional update: two concurrent uses of one code cannot both pass.
    const r = await deps.db
      .updateTable('authenticators')
      .set({ last_used_step: step, failures: 0, last_failure_at: null })
      .where('id', '=', f.id)
      .where('last_used_step', '<', step)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 1) return;
  }
  for (const f of enabled) {
    const failures = f.failures + 1;
    const disable = failures >= deps.policy.maxFactorFailures;
    // The failure count (and a disable) commits with its record, in a transaction of its own.
    await deps.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('authenticators')
        .set({ failures, last_failure_at: now, disabled_at: disable ? now : null })
        .where('id', '=', f.id)
        .execute();
      await recordAudit(tx, deps.sealer, {
        at: now,
        actorId: userId,
        action: disable ? 'factor.disabled' : 'factor.failed',
        target: f.id,
        address,
        outcome: 'failure',
        details: { failures },
      });
    });
    if (disable) throw new AppError('factor_disabled');
  }
  throw new AppError('code_invalid');
}

async function useRecoveryCode(deps: AuthDeps, userId: string, code: string): Promise<void> {
  // SECURITY: single use, by a conditional update on the unused row.
  const r = await deps.db
    .updateTable('recovery_codes')
    .set({ used_at: deps.clock.now() })
    .where('user_id', '=', userId)
    .where('code_hash', '=', recoveryHash(code))
    .where('used_at', 'is', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new AppError('code_invalid');
}

/** The second step of a login: the challenge from the password step plus a TOTP or recovery code. */
export async function completeMfaLogin(deps: AuthDeps, input: MfaLoginRequest, address: string): Promise<SessionGrant> {
  assertSourceAllowed(deps, address);
  deps.limiter.check('login.address', address);
  const now = deps.clock.now();
  const hash = sha256Hex(input.challenge);
  const ch = await deps.db.selectFrom('login_challenges').selectAll().where('token_hash', '=', hash).executeTakeFirst();
  if (!ch || ch.used_at !== null || ch.expires_at <= now)
    throw new AppError('code_invalid', 'the login challenge is unknown, used or expired; log in again');
  deps.limiter.check('mfa.account', ch.user_id);
  try {
    if (input.code !== undefined) await verifyTotpFactor(deps, ch.user_id, input.code, address);
    else if (input.webauthn !== undefined)
      await verifyPasskeySecondFactor(deps, ch.user_id, ch.webauthn_challenge_id, input.webauthn);
    else await useRecoveryCode(deps, ch.user_id, input.recoveryCode as string);
  } catch (e) {
    await recordAudit(deps.db, deps.sealer, {
      at: now,
      actorId: ch.user_id,
      action: 'login.failed',
      address,
      outcome: 'failure',
      details: { step: input.code !== undefined ? 'totp' : input.webauthn !== undefined ? 'passkey' : 'recovery_code' },
    });
    throw e;
  }
  const deviceName = await openColumn(deps.sealer, 'login_challenges', 'device_name', ch.token_hash, ch.device_name);
  await prepareSession(deps, ch.user_id);
  const r = await deps.db.transaction().execute(async (tx) => {
    const claimed = await tx
      .updateTable('login_challenges')
      .set({ used_at: now })
      .where('token_hash', '=', hash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1)
      throw new AppError('code_invalid', 'the login challenge was already used');
    const user = await tx
      .selectFrom('users')
      .select(['id', 'mfa_grace_from', 'disabled_at', 'locked_until'])
      .where('id', '=', ch.user_id)
      .executeTakeFirstOrThrow();
    if (user.disabled_at !== null) throw new AppError('auth_failed');
    assertNotLocked(user, now);
    if (input.recoveryCode !== undefined)
      await recordAudit(tx, deps.sealer, {
        at: now,
        actorId: user.id,
        action: 'factor.recovery_code_used',
        address,
        outcome: 'success',
      });
    const method = input.code !== undefined ? 'totp' : input.webauthn !== undefined ? 'passkey' : 'recovery_code';
    return openSession(
      deps,
      tx,
      user,
      { publicKey: ch.device_public_key, name: deviceName, platform: ch.device_platform },
      2,
      address,
      method,
    );
  });
  return grantOrPending(r);
}

/** Re-verifies the second factor inside a session, for sensitive actions. */
export async function stepUp(
  deps: AuthDeps,
  principal: Principal,
  code: string,
  address: string | null,
): Promise<void> {
  deps.limiter.check('mfa.account', principal.userId);
  await verifyTotpFactor(deps, principal.userId, code, address);
  await deps.db
    .updateTable('sessions')
    .set({
      aal: 2,
      strong_auth_at: deps.clock.now(),
      strong_auth_method: 'totp',
      ...(address
        ? { login_address: await sealedSessionAddress(deps, principal.userId, principal.sessionId, address) }
        : {}),
    })
    .where('id', '=', principal.sessionId)
    .execute();
}
