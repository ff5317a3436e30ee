import { assertRecentStrongAuth, authenticateToken, resetFactors } from '../auth/index.js';
import type { Principal } from '../core/index.js';
import {
  approve,
  completeRoleGrant,
  grantRole,
  ROLE_GRANT_ACTION,
  type GrantOutcome,
  type RbacDeps,
} from '../rbac/index.js';
import { testDeps } from './deps.js';
import { loginAgain, makeUsers, uniqueName } from './users.js';
import type { StoreHandle } from './with-all-stores.js';

/**
 * Three admins (org_admin + security_admin), an independent operator-made org_admin, RBAC deps with the
 * factor-reset and role-grant actions, and helpers for fresh strong sessions, back-dated grants and
 * two-person grants: the set-up of the role-grant tests (rbac.test.ts, admin-grants.test.ts).
 */
export const rbacFixture = async (h: StoreHandle) => {
  const deps = await testDeps(h.get());
  const names = [uniqueName('a'), uniqueName('b'), uniqueName('c')];
  const users = await makeUsers(deps.auth, names, ['org_admin', 'security_admin']);
  // An org_admin the operator made over the admin socket: independent of everyone here (S4).
  const [operatorAdmin] = await makeUsers(deps.auth, [uniqueName('op')], ['org_admin']);
  const rbac: RbacDeps = {
    db: h.get().db,
    clock: deps.clock,
    bus: deps.bus,
    sealer: deps.auth.sealer,
    assertStepUp: (p) => assertRecentStrongAuth(deps.auth, p),
    actions: {
      'factor.reset': {
        permission: 'factor.reset_any',
        run: (params, actors) => resetFactors(deps.auth, String(params.userId), actors),
      },
      [ROLE_GRANT_ACTION]: {
        permission: 'role.grant',
        run: (params, actors) => completeRoleGrant(rbac, params, actors),
      },
    },
  };
  // Sessions whose strong factor was just verified, with the roles read from the store.
  const fresh = async (p: Principal): Promise<Principal> => {
    const s = await loginAgain(deps.auth, p);
    const a = (await authenticateToken(deps.auth, s.token)).principal;
    return { ...a, strongAuthAt: deps.clock.now() };
  };
  // S4: a grant made more than 30 days ago no longer ties the two people together.
  const backdate = (grantId: string) =>
    h
      .get()
      .db.updateTable('role_grants')
      .set({ created_at: deps.clock.now() - 31 * 86_400_000, approved_at: deps.clock.now() - 31 * 86_400_000 })
      .where('id', '=', grantId)
      .execute();
  /** A grant of org_admin or security_admin by `requester`, approved by the operator's independent org_admin (S3); its grant id. */
  const grantByTwo = async (
    requester: Principal,
    userId: string,
    role: 'org_admin' | 'security_admin',
    reason: string,
  ): Promise<string> => {
    const r = await grantRole(rbac, requester, userId, role, reason);
    if (!('pendingApproval' in r)) throw new Error('expected a two-person request');
    await approve(rbac, await fresh(operatorAdmin!), r.pendingApproval);
    const g = await h
      .get()
      .db.selectFrom('role_grants')
      .select('id')
      .where('user_id', '=', userId)
      .where('role', '=', role)
      .where('requested_by', '=', requester.userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    return g.id;
  };
  return { deps, rbac, users, fresh, backdate, grantByTwo, operatorAdmin: operatorAdmin! };
};
export const grantId = (r: GrantOutcome): string => {
  if (!('id' in r)) throw new Error(`expected an immediate grant, got ${JSON.stringify(r)}`);
  return r.id;
};
