import { ssoProofMessage, type SessionGrant } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import { constantTimeEqual, sha256Hex, verifyEd25519 } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import { openColumn } from '../keys/index.js';
import type { AuthDeps } from './deps.js';
import { grantOrPending, openSession, prepareSession } from './open-session.js';
import { assertNotLocked, stepUpDemanded } from './containment.js';

/**
 * Ends a sign-on that was tried with the wrong browser or completion secret, while it is still open
 * (`unfinished` names the column that is still null: `user_id` before the callback, `completed_at`
 * after it), and audits the failure. Recorded on the root db on purpose: nothing else commits.
 */
export async function burnSignOn(
  deps: AuthDeps,
  ssoId: string,
  unfinished: 'user_id' | 'completed_at',
  now: number,
  address: string,
  reason: string,
): Promise<void> {
  await deps.db
    .updateTable('sso_logins')
    .set({ expires_at: now })
    .where('id', '=', ssoId)
    .where(unfinished, 'is', null)
    .execute();
  await recordAudit(deps.db, deps.sealer, {
    at: now,
    actorId: null,
    action: 'sso.failed',
    target: ssoId,
    address,
    outcome: 'failure',
    details: { reason },
  });
}

/**
 * The device that started the sign-on collects its session, proving possession of its key and, for a
 * loopback sign-on, showing the completion secret its listener received. Returns undefined while the
 * IdP step of a sign-on without loopback is not finished.
 */
export async function completeSso(
  deps: AuthDeps,
  ssoId: string,
  signature: string,
  address: string,
  completion?: string,
): Promise<SessionGrant | undefined> {
  const row = await deps.db.selectFrom('sso_logins').selectAll().where('id', '=', ssoId).executeTakeFirst();
  const now = deps.clock.now();
  if (!row || row.expires_at <= now || row.completed_at !== null)
    throw new AppError('code_invalid', 'this sign-on is unknown, expired or already completed');
  // SECURITY: only the device that started the sign-on can collect the session.
  if (
    !verifyEd25519(
      Buffer.from(row.device_public_key, 'base64url'),
      new TextEncoder().encode(ssoProofMessage(ssoId)),
      Buffer.from(signature, 'base64url'),
    )
  )
    throw new AppError('device_proof_failed');
  await checkCompletion(deps, row, completion, address, now);
  if (row.user_id === null) return undefined;
  const userId = row.user_id;
  const deviceName = await openColumn(deps.sealer, 'sso_logins', 'device_name', row.id, row.device_name);
  await prepareSession(deps, userId);
  const r = await deps.db.transaction().execute(async (tx) => {
    const claimed = await tx
      .updateTable('sso_logins')
      .set({ completed_at: now })
      .where('id', '=', ssoId)
      .where('completed_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) throw new AppError('code_invalid');
    const user = await tx
      .selectFrom('users')
      .select(['id', 'mfa_grace_from', 'disabled_at', 'locked_until', 'step_up_until'])
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    if (user.disabled_at !== null) throw new AppError('auth_failed');
    assertNotLocked(user, now);
    // SECURITY: while a containment demands a second factor, a sign-on without the IdP's MFA is refused.
    if (row.aal !== 2 && stepUpDemanded(user, now))
      throw new AppError('step_up_required', 'a security response requires a second factor for this account');
    return openSession(
      deps,
      tx,
      user,
      { publicKey: row.device_public_key, name: deviceName, platform: row.device_platform },
      row.aal === 2 ? 2 : 1,
      address,
      'sso',
    );
  });
  return grantOrPending(r);
}

/**
 * SECURITY (S1): a loopback sign-on is collected only with its completion secret (SHA-256 stored,
 * compared in constant time). Without one the answer is the same whether the IdP step is done or not;
 * a wrong one burns the sign-on. Single use comes from `completed_at`.
 */
async function checkCompletion(
  deps: AuthDeps,
  row: { id: string; loopback_redirect: string | null; completion_hash: string | null },
  completion: string | undefined,
  address: string,
  now: number,
): Promise<void> {
  if (row.loopback_redirect === null) {
    if (completion !== undefined)
      throw new AppError('bad_request', 'this sign-on was started without loopback; send no completion secret');
    return;
  }
  if (completion === undefined) throw new AppError('sso_completion_required');
  if (row.completion_hash !== null && constantTimeEqual(sha256Hex(completion), row.completion_hash)) return;
  await burnSignOn(deps, row.id, 'completed_at', now, address, 'wrong loopback completion secret');
  throw new AppError('code_invalid', 'this sign-on is unknown, expired or already completed');
}
