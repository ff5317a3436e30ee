import { AppError, type Principal } from '../core/index.js';
import { newTotpSecret, randomId, randomToken, sha256Hex, totpUri, verifyTotp } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import type { Executor } from '../store/index.js';
import type { AuthDeps } from './deps.js';
import { aadOf, openColumn, scopeOf } from '../keys/index.js';
import { sealForUser } from './sealed.js';
import { assertRecentStrongAuth } from './step-up.js';

/** AAD that binds a sealed TOTP secret to its row. */
export const totpAad = (id: string) => aadOf('authenticators', 'secret_sealed', id);
const RECOVERY_CODES = 10;

/** True when the user has a confirmed, enabled second factor (an authenticator app or a passkey). */
export async function hasActiveFactor(exec: Executor, userId: string): Promise<boolean> {
  const row = await exec.selectFrom('authenticators').select('id').where('user_id', '=', userId).where('confirmed_at', 'is not', null).where('disabled_at', 'is', null).executeTakeFirst();
  if (row) return true;
  return (await exec.selectFrom('passkeys').select('id').where('user_id', '=', userId).executeTakeFirst()) !== undefined;
}

/** Replaces a user's recovery codes inside the caller's transaction; returns them (shown once). */
export async function issueRecoveryCodes(tx: Executor, userId: string, now: number): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
  await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await tx.insertInto('recovery_codes').values(codes.map((c) => ({ id: randomId(), user_id: userId, code_hash: recoveryHash(c), created_at: now, used_at: null }))).execute();
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
    .values({ id, user_id: principal.userId, kind: 'totp', label: sealForUser(deps, principal.userId, 'authenticators', 'label', id, label), secret_sealed: await deps.sealer.seal(Buffer.from(secret), totpAad(id), scopeOf.user(principal.userId)), last_used_step: 0, failures: 0, last_failure_at: null, created_at: now, confirmed_at: null, disabled_at: null })
    .execute();
  return { id, secret, uri: totpUri(secret, 'Palisade', principal.username) };
}

/** Confirms a TOTP enrolment with a first code; returns fresh recovery codes (shown once). */
export async function confirmTotp(deps: AuthDeps, principal: Principal, id: string, code: string): Promise<{ recoveryCodes: string[] }> {
  const row = await deps.db.selectFrom('authenticators').selectAll().where('id', '=', id).where('user_id', '=', principal.userId).executeTakeFirst();
  if (!row || row.confirmed_at !== null) throw new AppError('not_found', 'no pending authenticator with this id');
  const now = deps.clock.now();
  const secret = Buffer.from(await deps.sealer.unseal(row.secret_sealed, totpAad(id))).toString();
  const step = verifyTotp(secret, code, now);
  if (step === undefined) throw new AppError('code_invalid');
  const codes = await deps.db.transaction().execute(async (tx) => {
    await tx.updateTable('authenticators').set({ confirmed_at: now, last_used_step: step }).where('id', '=', id).execute();
    const issued = await issueRecoveryCodes(tx, principal.userId, now);
    await tx.updateTable('sessions').set({ aal: 2, strong_auth_at: now }).where('id', '=', principal.sessionId).execute();
    await recordAudit(tx, deps.sealer, { at: now, actorId: principal.userId, action: 'factor.enrolled', target: id, outcome: 'success', details: { kind: 'totp' } });
    return issued;
  });
  return { recoveryCodes: codes };
}

/** The caller's factors (never their secrets). */
export async function listFactors(deps: AuthDeps, principal: Principal) {
  const rows = await deps.db.selectFrom('authenticators').select(['id', 'kind', 'label', 'created_at', 'confirmed_at', 'disabled_at', 'failures']).where('user_id', '=', principal.userId).orderBy('created_at').execute();
  const left = await deps.db.selectFrom('recovery_codes').select('id').where('user_id', '=', principal.userId).where('used_at', 'is', null).execute();
  return {
    factors: await Promise.all(rows.map(async (r) => ({ id: r.id, kind: r.kind, label: (await openColumn(deps.sealer, 'authenticators', 'label', r.id, r.label)) ?? '', createdAt: new Date(r.created_at).toISOString(), confirmed: r.confirmed_at !== null, disabled: r.disabled_at !== null, failures: r.failures }))),
    recoveryCodesLeft: left.length,
  };
}

/** Removes one of the caller's factors. Needs a recent strong factor. */
export async function removeFactor(deps: AuthDeps, principal: Principal, id: string): Promise<void> {
  assertRecentStrongAuth(deps, principal);
  const now = deps.clock.now();
  const n = await deps.db.deleteFrom('authenticators').where('id', '=', id).where('user_id', '=', principal.userId).executeTakeFirst();
  if (Number(n.numDeletedRows) === 0) throw new AppError('not_found', 'no such factor');
  await recordAudit(deps.db, deps.sealer, { at: now, actorId: principal.userId, action: 'factor.removed', target: id, outcome: 'success' });
}

/** Replaces the caller's recovery codes. Needs a recent strong factor. */
export async function regenerateRecoveryCodes(deps: AuthDeps, principal: Principal): Promise<{ recoveryCodes: string[] }> {
  assertRecentStrongAuth(deps, principal);
  const now = deps.clock.now();
  const codes = await deps.db.transaction().execute(async (tx) => {
    const issued = await issueRecoveryCodes(tx, principal.userId, now);
    await recordAudit(tx, deps.sealer, { at: now, actorId: principal.userId, action: 'factor.recovery_codes_regenerated', outcome: 'success' });
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
