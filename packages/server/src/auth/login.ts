import type { LoginRequest, LoginResponse } from '@palisade/protocol';
import { AppError, currentDrill } from '../core/index.js';
import { hashPassword, isValidEd25519PublicKey, randomToken, sha256Hex, verifyPassword } from '../crypto/index.js';
import { recordAudit, type AuditEntry } from '../audit/index.js';
import type { Tx } from '../store/index.js';
import type { AuthDeps } from './deps.js';
import { hasActiveFactor } from './factors.js';
import { assessLogin, isKnownDevice, isKnownNetwork } from './risk.js';
import { exactAddress, LOGIN_FAILURE_DELAY, LOGIN_SOURCE_DELAY, sourceNetwork } from '../limits/index.js';
import { passkeySecondFactor } from './passkeys.js';
import { grantOrPending, openSession, prepareSession } from './open-session.js';
import { sealInTable } from '../keys/index.js';
import { assertNotLocked, assertSourceAllowed, stepUpDemanded } from './containment.js';

let dummyHash: Promise<string> | undefined;

/** The growing-delay subject of wrong passwords for one account name from one network. */
const failureSubject = (username: string, address: string) =>
  `login\u0000${username.toLowerCase()}\u0000${sourceNetwork(address)}`;

/** The facts of a `login.risk_assessed` record (the action is spelt at each write). */
type RiskRecord = Omit<AuditEntry, 'action'>;

type UserRow = NonNullable<Awaited<ReturnType<typeof findUser>>>;

const findUser = (deps: AuthDeps, username: string) =>
  deps.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();

/**
 * Checks the password under the throttles and returns the user, or throws.
 * SECURITY: an unknown user and a wrong password both give `auth_failed` after the same
 * argon2 work (a dummy hash is verified for unknown users) and the same counter update, so neither the
 * answer nor its timing tells whether the account exists. A disabled account says `account_disabled`
 * only to someone who gave its right password (and passed the throttles): no account-state oracle.
 * SECURITY (S7): no shared per-account bucket is taken before the password. The source is limited (its
 * address and its /24 or /64, and a growing delay per address that guesses), and wrong passwords grow a
 * delay per (account, network); while it runs every answer from that network is `rate_limited`, except
 * a correct password from a known device or a known network of the owner, so other people's failures
 * never lock the owner out.
 */
async function passwordStep(deps: AuthDeps, input: LoginRequest, address: string, now: number): Promise<UserRow> {
  // SECURITY (S7): a source that keeps guessing waits, before any password work and with no bypass.
  const source = `login\u0000${exactAddress(address)}`;
  const sourceWait = deps.limiter.delayRemaining(LOGIN_SOURCE_DELAY, source);
  if (sourceWait > 0) {
    // No password work and no record (a guessing source would write one per try), but detection
    // counts it: an attack of 300 guesses is mostly throttled attempts.
    const drill = currentDrill();
    deps.bus.publish({
      type: 'security.signal',
      data: {
        kind: 'login.throttled',
        at: now,
        username: input.username.toLowerCase(),
        address,
        ...(drill ? { drill } : {}),
      },
    });
    throw throttled(sourceWait);
  }
  const subject = failureSubject(input.username, address);
  const wait = deps.limiter.delayRemaining(LOGIN_FAILURE_DELAY, subject);
  const user = await findUser(deps, input.username);
  dummyHash ??= hashPassword(randomToken(), deps.policy.argon2);
  const ok = await verifyPassword(user?.password_hash ?? (await dummyHash), input.password);
  if (!user || !ok) {
    deps.limiter.recordFailure(LOGIN_FAILURE_DELAY, subject);
    deps.limiter.recordFailure(LOGIN_SOURCE_DELAY, source);
    // The same statement for every name (no row matches an unknown one): counts for risk and detection.
    // The failure count commits with its record, in a transaction of its own (no change to roll back).
    await deps.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('users')
        .set((eb) => ({ password_failures: eb('password_failures', '+', 1) }))
        .where('username', '=', input.username)
        .execute();
      await recordAudit(tx, deps.sealer, {
        at: now,
        actorId: user?.id ?? null,
        action: 'login.failed',
        address,
        outcome: 'failure',
        details: {
          step: 'password',
          // The name tried, so detection counts distinct accounts (stuffing) and not one per try.
          // SECURITY: in the sealed details, opened only for audit.read.
          ...(user ? {} : { username: input.username.toLowerCase() }),
          ...(user ? { consecutiveFailures: user.password_failures + 1 } : {}),
          ...(wait > 0 ? { throttled: true } : {}),
        },
      });
    });
    if (wait > 0) throw throttled(wait);
    throw new AppError('auth_failed', 'wrong user name or password');
  }
  // SECURITY-BASELINE (800-63B-4 §3.2.2): past `maxFactorFailures` consecutive wrong passwords the
  // password is accepted only from a trusted source (a known device or network) instead of being
  // disabled, which would hand anyone a lock-out; the owner's next login from there resets the count.
  const overLimit = user.password_failures >= deps.policy.maxFactorFailures;
  if (
    (wait > 0 || overLimit) &&
    !(await isKnownDevice(deps, user.id, input.device.publicKey)) &&
    !(await isKnownNetwork(deps, user.id, address))
  ) {
    await recordAudit(deps.db, deps.sealer, {
      at: now,
      actorId: user.id,
      action: 'login.failed',
      address,
      outcome: 'failure',
      details: { step: overLimit ? 'failure_limit' : 'throttled', consecutiveFailures: user.password_failures },
    });
    if (overLimit)
      throw new AppError(
        'risk_denied',
        'too many failed logins on this account; log in from a device or network you used before, or ask an administrator',
        { details: { reasons: ['failure_streak'] } },
      );
    throw throttled(wait);
  }
  if (user.disabled_at !== null) {
    // SECURITY: reached only with the right password; the owner learns why, and whom to ask.
    await recordAudit(deps.db, deps.sealer, {
      at: now,
      actorId: user.id,
      action: 'login.failed',
      address,
      outcome: 'failure',
      details: { step: 'account_disabled' },
    });
    throw new AppError('account_disabled');
  }
  // SECURITY: a containment's lock, like a disable, is told only to someone who gave the right password.
  assertNotLocked(user, now);
  // A login through the bypass leaves the network's delay alone: it belongs to whoever else is there.
  if (wait === 0) deps.limiter.clearFailures(subject);
  if (user.password_failures > 0)
    await deps.db.updateTable('users').set({ password_failures: 0 }).where('id', '=', user.id).execute();
  return user;
}

/**
 * The password step of a login. With a second factor enrolled it returns a short-lived challenge for
 * POST /v1/login/mfa; without one, a password-only (AAL1) session while the enrolment grace lasts.
 * Throttles and failure counting: see `passwordStep`.
 */
export async function login(deps: AuthDeps, input: LoginRequest, address: string): Promise<LoginResponse> {
  // SECURITY: a blocked source is refused before anything else (containment).
  assertSourceAllowed(deps, address);
  // SECURITY (S9): source limits (exact address and its /24 or /64) before any argon2 work.
  deps.limiter.checkSource('login', address);
  const publicKey = Buffer.from(input.device.publicKey, 'base64url');
  if (!isValidEd25519PublicKey(publicKey)) throw new AppError('invalid_device_key');
  const now = deps.clock.now();
  const user = await passwordStep(deps, input, address, now);

  const risk = await assessLogin(deps, user.id, input.device.publicKey, address, user.password_failures);
  // The assessment's record commits with what the login does next (the session, the MFA challenge or
  // the refusal's record): one COMMIT, so one fsync, per login instead of two.
  const riskRecord: RiskRecord = {
    at: now,
    actorId: user.id,
    address,
    outcome: risk.decision === 'deny' ? 'failure' : 'success',
    details: { ...risk },
  };
  if (risk.decision === 'deny') {
    await recordAudit(deps.db, deps.sealer, { ...riskRecord, action: 'login.risk_assessed' });
    throw new AppError('risk_denied', undefined, { details: { reasons: risk.reasons } });
  }

  // SECURITY: every assessment is recorded, also when a step before the record's transaction fails
  // (a factor lookup, the passkey options, the KMS preparing the session's key).
  const recorded = { done: false };
  try {
    return await afterAssessment(deps, input, address, now, user, riskRecord, recorded);
  } catch (e) {
    if (!recorded.done)
      await recordAudit(deps.db, deps.sealer, { ...riskRecord, action: 'login.risk_assessed' }).catch(() => undefined);
    throw e;
  }
}

/** The login once the risk is assessed and not denied: the MFA challenge, the overdue refusal, or the session. */
async function afterAssessment(
  deps: AuthDeps,
  input: LoginRequest,
  address: string,
  now: number,
  user: Awaited<ReturnType<typeof passwordStep>>,
  riskRecord: RiskRecord,
  recorded: { done: boolean },
): Promise<LoginResponse> {
  // With a second factor every login proves it; risk 'step_up' is met by that proof.
  if (await hasActiveFactor(deps.db, user.id)) {
    const challenge = randomToken(32);
    const expiresAt = now + deps.policy.loginChallengeTtlMs;
    const passkey = await passkeySecondFactor(deps, user.id);
    await withRiskRecord(deps, riskRecord, recorded, (tx) =>
      tx
        .insertInto('login_challenges')
        .values({
          token_hash: sha256Hex(challenge),
          user_id: user.id,
          device_public_key: input.device.publicKey,
          device_name: sealInTable(
            deps.sealer,
            'login_challenges',
            'device_name',
            sha256Hex(challenge),
            input.device.name,
          ),
          device_platform: input.device.platform,
          created_at: now,
          expires_at: expiresAt,
          used_at: null,
          webauthn_challenge_id: passkey?.challengeId ?? null,
        })
        .execute(),
    );
    return {
      mfaRequired: true,
      challenge,
      expiresAt: new Date(expiresAt).toISOString(),
      methods: passkey ? ['passkey', 'totp', 'recovery_code'] : ['totp', 'recovery_code'],
      ...(passkey ? { webauthn: passkey.options } : {}),
    };
  }
  // SECURITY-BASELINE: MFA for every account; a password alone only during the enrolment grace, and
  // not while a containment demands a second factor (require_step_up).
  if (now >= user.mfa_grace_from + deps.policy.mfaGraceMs || stepUpDemanded(user, now)) {
    await withRiskRecord(deps, riskRecord, recorded, (tx) =>
      recordAudit(tx, deps.sealer, {
        at: now,
        actorId: user.id,
        action: 'login.failed',
        address,
        outcome: 'failure',
        details: { step: stepUpDemanded(user, now) ? 'step_up_demanded' : 'mfa_enrolment_overdue' },
      }),
    );
    if (stepUpDemanded(user, now))
      throw new AppError('step_up_required', 'a security response requires a second factor for this account');
    throw new AppError('mfa_enrolment_required');
  }
  await prepareSession(deps, user.id);
  return grantOrPending(
    await withRiskRecord(deps, riskRecord, recorded, (tx) => openSession(deps, tx, user, input.device, 1, address)),
  );
}

/**
 * Runs `step` in a transaction that also writes the login's risk record. SECURITY: every assessment is
 * recorded: when the step fails (a revoked device key, say) and rolls the record back with it, the
 * record is written again on its own before the error goes on.
 */
async function withRiskRecord<T>(
  deps: AuthDeps,
  riskRecord: RiskRecord,
  recorded: { done: boolean },
  step: (tx: Tx) => Promise<T>,
): Promise<T> {
  recorded.done = true; // from here on this function writes the record on every path
  try {
    return await deps.db.transaction().execute(async (tx) => {
      await recordAudit(tx, deps.sealer, { ...riskRecord, action: 'login.risk_assessed' });
      return step(tx);
    });
  } catch (e) {
    // The step's error is the answer; a store that cannot take the record either already said so.
    await recordAudit(deps.db, deps.sealer, { ...riskRecord, action: 'login.risk_assessed' }).catch(() => undefined);
    throw e;
  }
}

/** The answer while a growing delay runs: the same whether the password was right or wrong. */
function throttled(waitMs: number): AppError {
  return new AppError(
    'rate_limited',
    'too many failed logins from your network; wait, or log in from a device you used before',
    { retryAfterMs: waitMs },
  );
}
