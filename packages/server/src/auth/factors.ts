import { AppError, type Principal } from '../core/index.js';
import {
  newTotpSecret,
  randomId,
  randomToken,
  sha256Hex,
  TOTP_STEP_SECONDS,
  totpUri,
  verifyTotp,
} from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import type { Executor } from '../store/index.js';
import type { AuthDeps } from './deps.js';
import { aadOf, openColumn, scopeOf } from '../keys/index.js';
import { sealForUser } from './sealed.js';
import { assertRecentStrongAuth } from './step-up.js';
import { dropPendingEnrolments, endOtherSessions, PENDING_ENROLMENT_TTL_MS } from './factor-changes.js';

/** AAD that binds a sealed TOTP secret to its row. */
export const totpAad = (id: string) => aadOf('authenticators', 'secret_sealed', id);
const RECOVERY_CODES = 10;

/** True when the user has a confirmed, enabled second factor (an authenticator app or a passkey). */
export async function hasActiveFactor(exec: Executor, userId: string): Promise<boolean> {
  const row = await exec
    .selectFrom('authenticators')
    .select('id')
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is not', null)
    .where('disabled_at', 'is', null)
    .executeTakeFirst();
  if (row) return true;
  return (
    (await exec.selectFrom('passkeys').select('id').where('user_id', '=', userId).executeTakeFirst()) !== undefined
  );
}

/** Replaces a user's recovery codes inside the caller's transaction; returns them (shown once). */
export async function issueRecoveryCodes(tx: Executor, userId: string, now: number): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
  await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await tx
    .insertInto('recovery_codes')
    .values(
      codes.map((c) => ({
        id: randomId(),
        user_id: userId,
        code_hash: recoveryHash(c),
        created_at: now,
        used_at: null,
      })),
    )
    .execute();
  return codes;
}

/** Starts TOTP enrolment: a new secret (sealed at rest) to show once as a QR code / otpauth URI. */
export async function startTotpEnrolment(deps: AuthDeps, principal: Principal, label = 'authenticator app') {
  // Adding a factor to an account that has one is a factor change: it needs a recent strong factor.
  if (await hasActiveFactor(deps.db, principal.userId)) assertRecentStrongAuth(deps, principal);
  const id = randomId();
  const secret = newTotpSecret();
  const now = deps.clock.now();
  await deps.sealer.prepare(scopeOf.user(principal.userId));
  await deps.db
    .insertInto('authenticators')
    .values({
      id,
      user_id: principal.userId,
      kind: 'totp',
      label: sealForUser(deps, principal.userId, 'authenticators', 'label', id, label),
      secret_sealed: await deps.sealer.seal(Buffer.from(secret), totpAad(id), scopeOf.user(principal.userId)),
      last_used_step: 0,
      failures: 0,
      last_failure_at: null,
      created_at: now,
      confirmed_at: null,
      disabled_at: null,
    })
    .execute();
  return {
    id,
    secret,
    uri: totpUri(secret, 'Palisade', principal.username),
    expiresAt: new Date(now + PENDING_ENROLMENT_TTL_MS).toISOString(),
  };
}

/**
 * Confirms a TOTP enrolment with a first code. Recovery codes are issued (shown once) only when it
 * is the account's first factor; other sessions of the user end.
 * SECURITY (S5): a pending enrolment expires after 10 minutes; once the account has a factor,
 * confirming another needs a recent strong factor, and one started before that factor existed
 * (so without step-up) is refused.
 */
export async function confirmTotp(
  deps: AuthDeps,
  principal: Principal,
  id: string,
  code: string,
  address: string | null = null,
): Promise<{ recoveryCodes?: string[] }> {
  const row = await deps.db
    .selectFrom('authenticators')
    .selectAll()
    .where('id', '=', id)
    .where('user_id', '=', principal.userId)
    .executeTakeFirst();
  if (!row || row.confirmed_at !== null) throw new AppError('not_found', 'no pending authenticator with this id');
  const now = deps.clock.now();
  const since = await activeFactorSince(deps.db, principal.userId);
  if (now - row.created_at > PENDING_ENROLMENT_TTL_MS || (since !== undefined && row.created_at < since)) {
    await deps.db.deleteFrom('authenticators').where('id', '=', id).where('confirmed_at', 'is', null).execute();
    throw new AppError('not_found', 'this enrolment expired or predates your current factor; start again');
  }
  if (since !== undefined) assertRecentStrongAuth(deps, principal);
  const secret = Buffer.from(await deps.sealer.unseal(row.secret_sealed, totpAad(id))).toString();
  const step = verifyTotp(secret, code, now);
  if (step === undefined) throw new AppError('code_invalid');
  const first = since === undefined;
  const codes = await deps.db.transaction().execute(async (tx) => {
    const r = await tx
      .updateTable('authenticators')
      .set({ confirmed_at: now, last_used_step: step })
      .where('id', '=', id)
      .where('confirmed_at', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new AppError('not_found', 'no pending authenticator with this id');
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: principal.userId,
      action: 'factor.enrolled',
      target: id,
      address,
      outcome: 'success',
      details: { kind: 'totp', firstFactor: first },
    });
    if (!first) return undefined;
    await dropPendingEnrolments(tx, principal.userId, id);
    // The first factor makes the session multi-factor; the method is always recorded with the time.
    await tx
      .updateTable('sessions')
      .set({ aal: 2, strong_auth_at: now, strong_auth_method: 'totp' })
      .where('id', '=', principal.sessionId)
      .execute();
    return issueRecoveryCodes(tx, principal.userId, now);
  });
  await endOtherSessions(deps, principal, address);
  return codes ? { recoveryCodes: codes } : {};
}

/** When the account's oldest active factor was added (undefined when it has none). */
async function activeFactorSince(exec: Executor, userId: string): Promise<number | undefined> {
  const totp = await exec
    .selectFrom('authenticators')
    .select((eb) => eb.fn.min('confirmed_at').as('at'))
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is not', null)
    .where('disabled_at', 'is', null)
    .executeTakeFirst();
  const pk = await exec
    .selectFrom('passkeys')
    .select((eb) => eb.fn.min('created_at').as('at'))
    .where('user_id', '=', userId)
    .executeTakeFirst();
  const times = [totp?.at, pk?.at].filter((t) => t !== null && t !== undefined).map(Number);
  return times.length === 0 ? undefined : Math.min(...times);
}

/** The caller's factors, authenticator apps and passkeys alike (never their secrets). */
export async function listFactors(deps: AuthDeps, principal: Principal) {
  const rows = await deps.db
    .selectFrom('authenticators')
    .select(['id', 'kind', 'label', 'created_at', 'confirmed_at', 'disabled_at', 'failures', 'last_used_step'])
    .where('user_id', '=', principal.userId)
    .orderBy('created_at')
    .execute();
  const keys = await deps.db
    .selectFrom('passkeys')
    .select(['id', 'label', 'created_at', 'last_used_at', 'device_bound', 'aal_reason'])
    .where('user_id', '=', principal.userId)
    .orderBy('created_at')
    .execute();
  const left = await deps.db
    .selectFrom('recovery_codes')
    .select('id')
    .where('user_id', '=', principal.userId)
    .where('used_at', 'is', null)
    .execute();
  const iso = (t: number | null) => (t === null ? null : new Date(Number(t)).toISOString());
  const totp = await Promise.all(
    rows.map(async (r) => ({
      id: r.id,
      kind: r.kind as 'totp' | 'passkey',
      label: (await openColumn(deps.sealer, 'authenticators', 'label', r.id, r.label)) ?? '',
      createdAt: iso(r.created_at)!,
      lastUsedAt: Number(r.last_used_step) > 0 ? iso(Number(r.last_used_step) * TOTP_STEP_SECONDS * 1000) : null,
      confirmed: r.confirmed_at !== null,
      disabled: r.disabled_at !== null,
      failures: r.failures,
      aal: 2,
      deviceBound: false,
      aalReason: 'otp',
    })),
  );
  const passkeys = await Promise.all(
    keys.map(async (k) => ({
      id: k.id,
      kind: 'passkey' as const,
      label: (await openColumn(deps.sealer, 'passkeys', 'label', k.id, k.label)) ?? '',
      createdAt: iso(k.created_at)!,
      lastUsedAt: iso(k.last_used_at),
      confirmed: true,
      disabled: false,
      failures: 0,
      aal: k.device_bound === 1 ? 3 : 2,
      deviceBound: k.device_bound === 1,
      aalReason: k.aal_reason,
    })),
  );
  return { factors: [...totp, ...passkeys], recoveryCodesLeft: left.length };
}

/**
 * Removes one of the caller's factors, an authenticator app or a passkey. Needs a recent strong
 * factor; the user's other sessions end.
 */
export async function removeFactor(
  deps: AuthDeps,
  principal: Principal,
  id: string,
  address: string | null = null,
): Promise<void> {
  assertRecentStrongAuth(deps, principal);
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (tx) => {
    let kind = 'totp';
    let n = await tx
      .deleteFrom('authenticators')
      .where('id', '=', id)
      .where('user_id', '=', principal.userId)
      .executeTakeFirst();
    if (Number(n.numDeletedRows) === 0) {
      kind = 'passkey';
      n = await tx
        .deleteFrom('passkeys')
        .where('id', '=', id)
        .where('user_id', '=', principal.userId)
        .executeTakeFirst();
    }
    if (Number(n.numDeletedRows) === 0) throw new AppError('not_found', 'no such factor');
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: principal.userId,
      action: 'factor.removed',
      target: id,
      address,
      outcome: 'success',
      details: { kind },
    });
  });
  await endOtherSessions(deps, principal, address);
}

/** Replaces the caller's recovery codes. Needs a recent strong factor. */
export async function regenerateRecoveryCodes(
  deps: AuthDeps,
  principal: Principal,
): Promise<{ recoveryCodes: string[] }> {
  assertRecentStrongAuth(deps, principal);
  const now = deps.clock.now();
  const codes = await deps.db.transaction().execute(async (tx) => {
    const issued = await issueRecoveryCodes(tx, principal.userId, now);
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: principal.userId,
      action: 'factor.recovery_codes_regenerated',
      outcome: 'success',
    });
    return issued;
  });
  return { recoveryCodes: codes };
}

/** A recovery code: 20 base32 characters (100 random bits) in groups of five. */
function newRecoveryCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // no 0/O, 1/I
  const bytes = Buffer.from(randomToken(20), 'base64url');
  const chars = Array.from({ length: 20 }, (_, i) => alphabet[(bytes[i] ?? 0) % 32]).join('');
  return chars.match(/.{5}/g)!.join('-');
}

/** SHA-256 of a normalised recovery code (upper case, separators dropped). */
export function recoveryHash(code: string): string {
  return sha256Hex(code.toUpperCase().replace(/[^A-Z0-9]/g, ''));
}
