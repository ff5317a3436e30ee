import { randomId, type OidcClaims } from '../crypto/index.js';
import { recordAudit } from '../audit/index.js';
import { sealInTable } from '../keys/index.js';
import type { Tx } from '../store/index.js';
import type { AuthDeps, SsoDeps } from './deps.js';

/** The `requested_by`/`approved_by` value of a role grant mapped from this issuer's groups. */
export const idpGrantSource = (issuer: string): string => `idp:${issuer}`;

/** The roles the claim set maps to under the configured role mapping. */
export function mappedRoles(s: SsoDeps, claims: OidcClaims): Set<string> {
  const groups = Array.isArray(claims[s.roleClaim]) ? (claims[s.roleClaim] as unknown[]).map(String) : [];
  return new Set(groups.map((g) => s.roleMapping[g]).filter((r): r is string => r !== undefined));
}

/**
 * Makes the user's IdP-sourced standing grants match what the current claims map to: grants the IdP
 * no longer vouches for are revoked, new ones are granted. Returns true when anything changed (roles
 * are read per request and at each socket handshake, so no event is needed).
 * SECURITY (S11): only grants whose source is this issuer (`idp:<iss>`) are touched; grants made by a
 * person, by the bootstrap or offline CLI, or by another IdP are never revoked here.
 */
export async function syncIdpRoles(
  deps: AuthDeps,
  tx: Tx,
  s: SsoDeps,
  claims: OidcClaims,
  userId: string,
  now: number,
): Promise<boolean> {
  const source = idpGrantSource(claims.iss);
  const wanted = mappedRoles(s, claims);
  const current = await tx
    .selectFrom('role_grants')
    .select(['id', 'role'])
    .where('user_id', '=', userId)
    .where('kind', '=', 'standing')
    .where('requested_by', '=', source)
    .where('revoked_at', 'is', null)
    .execute();
  let changed = false;
  for (const g of current) {
    if (wanted.has(g.role)) continue;
    await tx
      .updateTable('role_grants')
      .set({ revoked_at: now })
      .where('id', '=', g.id)
      .where('revoked_at', 'is', null)
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: null,
      action: 'role.revoked',
      target: `${userId}/${g.role}`,
      outcome: 'success',
      details: { source, reason: `no longer mapped from ${s.roleClaim}` },
    });
    changed = true;
  }
  const held = new Set(current.map((g) => g.role));
  for (const role of wanted) {
    if (held.has(role)) continue;
    const gid = randomId();
    await tx
      .insertInto('role_grants')
      .values({
        id: gid,
        user_id: userId,
        role,
        kind: 'standing',
        reason: sealInTable(deps.sealer, 'role_grants', 'reason', gid, `mapped from ${s.roleClaim} at ${claims.iss}`),
        requested_by: source,
        approved_by: source,
        approved_at: now,
        created_at: now,
        expires_at: null,
        revoked_at: null,
      })
      .execute();
    await recordAudit(tx, deps.sealer, {
      at: now,
      actorId: null,
      action: 'role.granted',
      target: `${userId}/${role}`,
      outcome: 'success',
      details: { source, kind: 'standing' },
    });
    changed = true;
  }
  return changed;
}
