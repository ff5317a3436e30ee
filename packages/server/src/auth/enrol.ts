import { ADMIN_ROLES, type EnrolCheckResponse, type InviteBaseRoleName } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import { hashPassword, randomId, randomToken, sha256Hex } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import { isUniqueViolation } from '../store/index.js';
import type { AuthDeps } from './deps.js';
import { assertPasswordAcceptable, PRODUCT_WORDS } from './password-policy.js';
import { normaliseEmail, sealForUser } from './sealed.js';
import { verifiedEmailOwner } from './profile.js';
import { scopeOf, sealInTable } from '../keys/index.js';
import { assertUsernameNotReserved } from './reserved-names.js';
import { assertSourceAllowed } from './containment.js';

/**
 * Issues the one-time bootstrap token for the first admin when no account exists yet.
 * Earlier unused bootstrap tokens are cancelled, so only the most recently printed one works.
 * Returns undefined when an account exists already.
 * SECURITY: only the SHA-256 of the token is stored.
 */
export async function issueBootstrapToken(deps: AuthDeps): Promise<{ token: string; expiresAt: number } | undefined> {
  return deps.db.transaction().execute(async (tx) => {
    const anyUser = await tx.selectFrom('users').select('id').limit(1).executeTakeFirst();
    if (anyUser) return undefined;
    const now = deps.clock.now();
    await tx.deleteFrom('enrolment_tokens').where('kind', '=', 'bootstrap').where('used_at', 'is', null).execute();
    const token = randomToken();
    const expiresAt = now + deps.policy.enrolmentTokenTtlMs;
    await tx
      .insertInto('enrolment_tokens')
      // The first account holds both administrative roles (org and security) so it can set up the rest.
      .values({
        token_hash: sha256Hex(token),
        kind: 'bootstrap',
        role: 'member',
        grants: JSON.stringify(ADMIN_ROLES),
        created_by: null,
        created_at: now,
        expires_at: expiresAt,
        used_at: null,
        used_by: null,
      })
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: null,
      action: 'enrolment.bootstrap_issued',
      outcome: 'success',
    });
    return { token, expiresAt };
  });
}

/**
 * Creates a one-time invite token; `createdBy` is the admin's user id, or null for the offline CLI.
 * With `approvalId`, the invite carries administrative roles and cannot be used until a second person
 * approves that two-person request (`releaseInvite`).
 * SECURITY (S3): grants in an invite are role grants: the caller has checked `role.grant` and a recent
 * step-up (the HTTP route does), and the two-person rule for admin roles.
 */
export async function createInvite(
  deps: AuthDeps,
  createdBy: string | null,
  opts: { role: InviteBaseRoleName; grants?: string[]; ttlHours: number; approvalId?: string },
): Promise<{ token: string; expiresAt: number }> {
  const now = deps.clock.now();
  const token = randomToken();
  const expiresAt = now + opts.ttlHours * 3_600_000;
  await deps.db.transaction().execute(async (tx) => {
    await tx
      .insertInto('enrolment_tokens')
      .values({
        token_hash: sha256Hex(token),
        kind: 'invite',
        role: opts.role,
        grants: JSON.stringify(opts.grants ?? []),
        created_by: createdBy,
        created_at: now,
        expires_at: expiresAt,
        used_at: null,
        used_by: null,
        approval_id: opts.approvalId ?? null,
      })
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: createdBy,
      action: 'invite.created',
      outcome: 'success',
      details: {
        role: opts.role,
        grants: opts.grants ?? [],
        ttlHours: opts.ttlHours,
        ...(opts.approvalId ? { approvalId: opts.approvalId } : {}),
      },
    });
  });
  return { token, expiresAt };
}

/**
 * Runs when a second person approves an invite that carries administrative roles: the invite becomes
 * usable. Throws `not_found` when the invite is gone or used.
 */
export async function releaseInvite(deps: AuthDeps, approvalId: string, approvedBy: string): Promise<void> {
  const r = await deps.db
    .updateTable('enrolment_tokens')
    .set({ approval_id: null, approved_by: approvedBy })
    .where('approval_id', '=', approvalId)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new AppError('not_found', 'the invite of this request is gone');
}

/**
 * Whether `token` can enrol now (known, unused, unexpired, not awaiting approval), for a client to say
 * so before it asks for a password; when not, `pending` (a real invite awaiting a second admin's
 * approval) or `invalid` (everything else).
 * SECURITY (S9): counts against the same per-address and per-network enrolment budget as `enrol`, so it
 * gives no extra guesses, and does no argon2 work. Unknown, used and expired tokens answer the same
 * `invalid` (nothing tells them apart); `pending` reaches only someone who holds a real token, who
 * learns from `POST /v1/enrol` the same (`invite_pending`). Every refusal is audited like a failed enrolment.
 */
export async function checkEnrolToken(deps: AuthDeps, token: string, address: string): Promise<EnrolCheckResponse> {
  deps.limiter.checkSource('enrol', address);
  const now = deps.clock.now();
  const row = await deps.db
    .selectFrom('enrolment_tokens')
    .select(['used_at', 'expires_at', 'approval_id'])
    .where('token_hash', '=', sha256Hex(token))
    .executeTakeFirst();
  const usable = row !== undefined && row.used_at === null && row.expires_at > now;
  const answer: EnrolCheckResponse = !usable
    ? { valid: false, reason: 'invalid' }
    : row.approval_id !== null
      ? { valid: false, reason: 'pending' }
      : { valid: true };
  if (!answer.valid)
    await recordAudit(deps.db, deps.sealer, {
      at: now,
      actorId: null,
      action: 'enrolment.failed',
      address,
      outcome: 'failure',
      details: { reason: answer.reason === 'pending' ? 'token check: invite awaits approval' : 'token check' },
    });
  return answer;
}

/** Input of an enrolment. */
export interface EnrolInput {
  token: string;
  username: string;
  password: string;
  displayName?: string;
  email?: string;
}

/**
 * Creates an account from a bootstrap or invite token, consuming the token.
 * SECURITY: the token is single-use: it is marked used in the same transaction that creates the user,
 * with a conditional update so two concurrent enrolments cannot both succeed.
 * SECURITY (S9): the source is rate-limited (address and /24 or /64) and the token is looked up BEFORE
 * the password is hashed, so unauthenticated input never costs argon2 work.
 */
export async function enrol(
  deps: AuthDeps,
  input: EnrolInput,
  address: string,
): Promise<{ userId: string; role: InviteBaseRoleName; grants: string[] }> {
  assertSourceAllowed(deps, address);
  deps.limiter.checkSource('enrol', address);
  const now = deps.clock.now();
  const tokenHash = sha256Hex(input.token);
  const userId = randomId();
  // Checked first outside the transaction, so a failure is audited (a rolled-back record would be
  // lost), and neither argon2 work nor a data key is spent on an enrolment that cannot happen; checked
  // again, atomically, inside.
  const usable = await deps.db
    .selectFrom('enrolment_tokens')
    .select(['used_at', 'expires_at', 'kind', 'approval_id'])
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!usable || usable.used_at !== null || usable.expires_at <= now) {
    await recordAudit(deps.db, deps.sealer, {
      at: now,
      actorId: null,
      action: 'enrolment.failed',
      address,
      outcome: 'failure',
    });
    throw new AppError('token_invalid');
  }
  if (usable.approval_id !== null) {
    await recordAudit(deps.db, deps.sealer, {
      at: now,
      actorId: null,
      action: 'enrolment.failed',
      address,
      outcome: 'failure',
      details: { reason: 'invite awaits approval' },
    });
    throw new AppError('invite_pending');
  }
  assertUsernameNotReserved(input.username, { bootstrap: usable.kind === 'bootstrap' });
  // Refusals first, so a refused enrolment creates no data key (the unique indexes still decide races).
  if (await deps.db.selectFrom('users').select('id').where('username', '=', input.username).executeTakeFirst())
    throw new AppError('username_taken');
  assertPasswordAcceptable(input.password, [
    input.username,
    ...(input.displayName ? [input.displayName] : []),
    ...(input.email ? [input.email.split('@')[0]!] : []),
    ...PRODUCT_WORDS,
    ...(deps.policy.orgName ? [deps.policy.orgName] : []),
  ]);
  // SECURITY (S14): the address is an unverified claim: it is neither unique nor searchable until
  // verified, so only an address another account has VERIFIED is refused.
  if (input.email && (await verifiedEmailOwner(deps, input.email))) throw new AppError('email_taken');
  const passwordHash = await hashPassword(input.password, deps.policy.argon2);
  await deps.sealer.prepare(scopeOf.user(userId));
  try {
    return await deps.db.transaction().execute(async (tx) => {
      const row = await tx
        .selectFrom('enrolment_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (!row || row.used_at !== null || row.expires_at <= now) throw new AppError('token_invalid'); // used meanwhile
      if (row.approval_id !== null) throw new AppError('invite_pending');
      const claimed = await tx
        .updateTable('enrolment_tokens')
        .set({ used_at: now, used_by: userId })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('approval_id', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) throw new AppError('token_invalid');
      await tx
        .insertInto('users')
        .values({
          id: userId,
          username: input.username,
          display_name: sealForUser(deps, userId, 'users', 'display_name', userId, input.displayName),
          email: sealForUser(deps, userId, 'users', 'email', userId, input.email && normaliseEmail(input.email)),
          email_index: null,
          password_hash: passwordHash,
          role: row.role,
          disabled_at: null,
          created_at: now,
          mfa_grace_from: now,
          created_by: row.created_by,
        })
        .execute();
      const grants = JSON.parse(row.grants) as string[];
      // The second person of a two-person invite approved these grants; otherwise the creator did.
      const approvedBy = row.approved_by ?? row.created_by;
      for (const role of grants) {
        const gid = randomId();
        await tx
          .insertInto('role_grants')
          .values({
            id: gid,
            user_id: userId,
            role,
            kind: 'standing',
            reason: sealInTable(deps.sealer, 'role_grants', 'reason', gid, `granted with the ${row.kind} token`),
            requested_by: row.created_by,
            approved_by: approvedBy,
            approved_at: now,
            created_at: now,
            expires_at: null,
            revoked_at: null,
          })
          .execute();
        // SECURITY (S3): an invite grant is a role grant, audited as one when it takes effect.
        await recordAudit(tx, deps.sealer, {
          at: now,
          actorId: row.created_by,
          action: 'role.granted',
          target: `${userId}/${role}`,
          outcome: 'success',
          details: { kind: 'standing', via: row.kind, approvedBy },
        });
      }
      await recordAudit(tx, deps.sealer, {
        at: now,
        actorId: userId,
        action: 'user.enrolled',
        target: userId,
        address,
        outcome: 'success',
        details: { via: row.kind, role: row.role, grants },
      });
      return { userId, role: row.role, grants };
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw new AppError(String(e).includes('email') ? 'email_taken' : 'username_taken');
    throw e;
  }
}
