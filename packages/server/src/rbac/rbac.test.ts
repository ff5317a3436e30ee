import { describe, expect, it } from 'vitest';
import { assertRecentStrongAuth, authenticateToken, createInvite, enrol, login, resetFactors } from '../auth/index.js';
import type { Principal } from '../core/index.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { testDeps } from '../test-support/deps.js';
import { loginAgain, makeUsers, newDevicePublicKey, PASS, uniqueName } from '../test-support/users.js';
import { auditRecords } from '../test-support/audit.js';
import { seedOperatorGrant } from '../test-support/grants.js';
import {
  approve,
  approveElevation,
  completeRoleGrant,
  grantRole,
  listGrants,
  pendingApprovals,
  pendingElevations,
  requestApproval,
  requestElevation,
  revokeRole,
  ROLE_GRANT_ACTION,
  ROLE_PERMISSIONS,
  type GrantOutcome,
  type RbacDeps,
} from './index.js';

describe('v5.0.0-8.2.1 roles as data with separated duties', () => {
  it('has no built-in role that both manages users or security and reads or exports the audit trail', () => {
    const manage = /^(user|invite|role|session\.revoke_any|factor\.reset_any|policy|service_account)/;
    for (const [role, perms] of Object.entries(ROLE_PERMISSIONS)) {
      const p = perms as readonly string[];
      expect(p.some((x) => manage.test(x)) && p.some((x) => x.startsWith('audit.')), role).toBe(false);
    }
  });
  it('gives guests only self-service and no way to start conversations', () => {
    expect(ROLE_PERMISSIONS.guest).not.toContain('conversation.create');
    expect(ROLE_PERMISSIONS.member).toContain('conversation.create');
  });
});

withAllStores('role grants, elevation and the two-person rule', (h) => {
  const setup = async () => {
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
  const grantId = (r: GrantOutcome): string => {
    if (!('id' in r)) throw new Error(`expected an immediate grant, got ${JSON.stringify(r)}`);
    return r.id;
  };

  it('grants a standing role to another user only, after a step-up', async () => {
    const { deps, rbac, users, fresh } = await setup();
    const admin = await fresh(users[0]!); // the first user holds org_admin and security_admin
    expect(admin.roles).toEqual(expect.arrayContaining(['member', 'org_admin', 'security_admin']));
    await expect(
      grantRole(rbac, { ...admin, strongAuthAt: null }, users[1]!.userId, 'auditor', 'quarterly review'),
    ).rejects.toMatchObject({ code: 'step_up_required' });
    await expect(grantRole(rbac, admin, admin.userId, 'auditor', 'myself')).rejects.toMatchObject({
      code: 'forbidden',
    });
    const member = await fresh(users[1]!);
    await expect(grantRole(rbac, member, users[2]!.userId, 'auditor', 'no right')).rejects.toMatchObject({
      code: 'forbidden',
    });
    const gid = grantId(await grantRole(rbac, admin, users[1]!.userId, 'auditor', 'quarterly review'));
    expect((await fresh(users[1]!)).roles).toContain('auditor');
    // The reason reads back, but is stored sealed.
    expect((await listGrants(rbac, admin, users[1]!.userId)).find((g) => g.id === gid)?.reason).toBe(
      'quarterly review',
    );
    const stored = await h
      .get()
      .db.selectFrom('role_grants')
      .select('reason')
      .where('id', '=', gid)
      .executeTakeFirstOrThrow();
    expect(stored.reason).not.toContain('quarterly');
    expect(
      await auditRecords(h.get().db, deps.auth.sealer, {
        action: 'role.granted',
        target: `${users[1]!.userId}/auditor`,
      }),
    ).toHaveLength(1);
  });

  it('v5.0.0-8.2.1 just-in-time elevation: another person approves, and it expires on time (fake clock)', async () => {
    const { deps, rbac, users, fresh } = await setup();
    const admin = await fresh(users[0]!);
    const requester = await fresh(users[1]!);
    const id = await requestElevation(rbac, requester, 'security_admin', 30, 'incident 42');
    expect((await fresh(users[1]!)).roles).not.toContain('security_admin'); // pending grants count for nothing
    await expect(approveElevation(rbac, requester, id)).rejects.toMatchObject({ code: 'forbidden' });
    deps.clock.advance(5 * 60_000); // approval comes later: the 30 minutes start at approval
    const adminNow = { ...admin, strongAuthAt: deps.clock.now() };
    const { expiresAt } = await approveElevation(rbac, adminNow, id);
    expect(expiresAt).toBe(deps.clock.now() + 30 * 60_000);
    await expect(approveElevation(rbac, adminNow, id)).rejects.toMatchObject({ code: 'not_found' });
    deps.clock.advance(30 * 60_000 - 1);
    expect((await fresh(users[1]!)).roles).toContain('security_admin');
    deps.clock.advance(1);
    expect((await fresh(users[1]!)).roles).not.toContain('security_admin');
    const grants = await listGrants(rbac, admin, users[1]!.userId);
    expect(grants.find((g) => g.id === id)?.state).toBe('expired');
  });

  it('two-person rule: a factor reset runs only when a second holder approves', async () => {
    const { deps, rbac, users, fresh, backdate, grantByTwo } = await setup();
    const first = await fresh(users[0]!);
    // A second security admin, granted by the first (org_admin can grant; an independent org_admin approves).
    const gid = await grantByTwo(first, users[1]!.userId, 'security_admin', 'second responder');
    const second = await fresh(users[1]!);
    const victim = await fresh(users[2]!);
    const id = await requestApproval(rbac, first, 'factor.reset', { userId: victim.userId }, 'lost phone');
    await expect(approve(rbac, first, id)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(approve(rbac, victim, id)).rejects.toMatchObject({ code: 'forbidden' });
    // S4: the first granted the second's role just now: not independent yet.
    await expect(approve(rbac, second, id)).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/last 30 days/),
    });
    await backdate(gid);
    const victimLogin = await loginAgain(deps.auth, victim);
    await expect(authenticateToken(deps.auth, victimLogin.token)).resolves.toMatchObject({
      principal: { userId: victim.userId },
    });
    await approve(rbac, second, id);
    await expect(approve(rbac, second, id)).rejects.toMatchObject({ code: 'already_decided' });
    // The victim's sessions ended with the reset.
    await expect(authenticateToken(deps.auth, victimLogin.token)).rejects.toMatchObject({ code: 'session_invalid' });
    const row = await h.get().db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'executed', approved_by: second.userId, requested_by: first.userId });
    const audit = await h
      .get()
      .db.selectFrom('audit_log')
      .select('action')
      .where('target', '=', victim.userId)
      .where('action', '=', 'factor.reset')
      .execute();
    expect(audit).toHaveLength(1);
  });

  it('lets a two-person request expire after 24 hours', async () => {
    const { deps, rbac, users, fresh, backdate, grantByTwo } = await setup();
    const first = await fresh(users[0]!);
    await backdate(await grantByTwo(first, users[1]!.userId, 'security_admin', 'second'));
    const id = await requestApproval(rbac, first, 'factor.reset', { userId: users[2]!.userId }, 'x reason');
    const row = await h
      .get()
      .db.selectFrom('approvals')
      .select(['reason', 'params'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(`${row.reason}${row.params}`).not.toMatch(/x reason|userId/);
    expect((await pendingApprovals(rbac, await fresh(users[1]!))).find((p) => p.id === id)).toMatchObject({
      reason: 'x reason',
      params: { userId: users[2]!.userId },
    });
    deps.clock.advance(24 * 3_600_000);
    const second = await fresh(users[1]!);
    await expect(approve(rbac, second, id)).rejects.toMatchObject({ code: 'already_decided' });
  });

  it("S4: a puppet the admin invited and granted cannot be the other half of the admin's factor reset, either way", async () => {
    const { deps, rbac, users, fresh, backdate, grantByTwo } = await setup();
    const admin = await fresh(users[0]!);
    const victim = users[2]!;
    // The admin invites a puppet and grants it security_admin.
    const inv = await createInvite(deps.auth, admin.userId, { role: 'member', ttlHours: 1 });
    const name = uniqueName('puppet');
    await enrol(deps.auth, { token: inv.token, username: name, password: PASS }, '10.0.0.7');
    const gid = await grantByTwo(
      admin,
      (await h.get().db.selectFrom('users').select('id').where('username', '=', name).executeTakeFirstOrThrow()).id,
      'security_admin',
      'my helper',
    );
    const s = await login(
      deps.auth,
      { username: name, password: PASS, device: { publicKey: newDevicePublicKey(), name: 'p', platform: 'p' } },
      '10.0.0.7',
    );
    const puppet = {
      ...(await authenticateToken(deps.auth, (s as { token: string }).token)).principal,
      strongAuthAt: deps.clock.now(),
    };
    expect(puppet.roles).toContain('security_admin');
    const id = await requestApproval(rbac, admin, 'factor.reset', { userId: victim.userId }, 'lost phone');
    await expect(approve(rbac, puppet, id)).rejects.toMatchObject({ code: 'forbidden' });
    expect(await pendingApprovals(rbac, puppet)).toEqual([]);
    const back = await requestApproval(rbac, puppet, 'factor.reset', { userId: victim.userId }, 'lost phone');
    await expect(approve(rbac, admin, back)).rejects.toMatchObject({ code: 'forbidden' });
    // With the grant 31 days old, the invitation (its account is days old) still ties them.
    await backdate(gid);
    await expect(approve(rbac, puppet, id)).rejects.toMatchObject({ code: 'forbidden' });
    const row = await h
      .get()
      .db.selectFrom('approvals')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('pending');
    // An independent second security admin can approve it.
    await backdate(await grantByTwo(admin, users[1]!.userId, 'security_admin', 'independent'));
    await approve(rbac, await fresh(users[1]!), id);
  });

  it('S4: a pending elevation expires after 24 hours (fake clock)', async () => {
    const { deps, rbac, users, fresh } = await setup();
    const requester = await fresh(users[1]!);
    const id = await requestElevation(rbac, requester, 'auditor', 30, 'old request');
    deps.clock.advance(24 * 3_600_000);
    const admin = await fresh(users[0]!);
    expect((await pendingElevations(rbac, admin)).find((e) => e.id === id)).toBeUndefined();
    await expect(approveElevation(rbac, admin, id)).rejects.toMatchObject({ code: 'already_decided' });
    expect((await listGrants(rbac, admin, users[1]!.userId)).find((g) => g.id === id)?.state).toBe('revoked');
    expect((await fresh(users[1]!)).roles).not.toContain('auditor');
  });

  it('S4: a security_admin who does not hold org_admin cannot approve an elevation to org_admin', async () => {
    const { rbac, users, fresh, backdate, grantByTwo } = await setup();
    const admin = await fresh(users[0]!);
    await backdate(await grantByTwo(admin, users[1]!.userId, 'security_admin', 'security only'));
    const secOnly = await fresh(users[1]!);
    expect(secOnly.roles).not.toContain('org_admin');
    const requester = await fresh(users[2]!);
    const id = await requestElevation(rbac, requester, 'org_admin', 30, 'need to invite');
    await expect(approveElevation(rbac, secOnly, id)).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/holder of org_admin/),
    });
    // It may approve an elevation to the role it holds; an org_admin (role.grant) may approve org_admin.
    const sec = await requestElevation(rbac, requester, 'security_admin', 30, 'incident');
    await expect(approveElevation(rbac, secOnly, sec)).resolves.toMatchObject({ expiresAt: expect.any(Number) });
    await expect(approveElevation(rbac, admin, id)).resolves.toMatchObject({ expiresAt: expect.any(Number) });
  });

  it('S3: grants carried by an invite are audited as role.granted when they take effect; the account records who invited it', async () => {
    const { deps, users } = await setup();
    const admin = users[0]!;
    const inv = await createInvite(deps.auth, admin.userId, {
      role: 'member',
      grants: ['auditor', 'moderator'],
      ttlHours: 1,
    });
    const before = await h
      .get()
      .db.selectFrom('audit_log')
      .select('id')
      .where('action', '=', 'role.granted')
      .where('actor_id', '=', admin.userId)
      .execute();
    expect(before).toEqual([]); // nothing is granted until the invite is used
    const { userId } = await enrol(
      deps.auth,
      { token: inv.token, username: uniqueName('inv'), password: PASS },
      '10.0.0.5',
    );
    const rows = await h
      .get()
      .db.selectFrom('audit_log')
      .select(['actor_id', 'target'])
      .where('action', '=', 'role.granted')
      .where('target', 'like', `${userId}/%`)
      .execute();
    expect(rows.map((r) => r.target).sort()).toEqual([`${userId}/auditor`, `${userId}/moderator`]);
    expect(rows.every((r) => r.actor_id === admin.userId)).toBe(true);
    expect(
      (await h.get().db.selectFrom('users').select('created_by').where('id', '=', userId).executeTakeFirstOrThrow())
        .created_by,
    ).toBe(admin.userId);
  });
  it('S3: a direct org_admin grant after a step-up waits for a second person: nothing is granted, and the requester cannot approve it', async () => {
    const { rbac, users, fresh } = await setup();
    const admin = await fresh(users[0]!);
    const r = await grantRole(rbac, admin, users[1]!.userId, 'org_admin', 'second admin');
    expect(Object.keys(r)).toEqual(['pendingApproval']);
    const pending = (r as { pendingApproval: string }).pendingApproval;
    expect((await fresh(users[1]!)).roles).not.toContain('org_admin');
    expect(
      await h
        .get()
        .db.selectFrom('role_grants')
        .select('id')
        .where('user_id', '=', users[1]!.userId)
        .where('role', '=', 'org_admin')
        .execute(),
    ).toEqual([]);
    expect(
      await h
        .get()
        .db.selectFrom('approvals')
        .select(['action', 'requested_by', 'status'])
        .where('id', '=', pending)
        .executeTakeFirstOrThrow(),
    ).toEqual({ action: ROLE_GRANT_ACTION, requested_by: admin.userId, status: 'pending' });
    await expect(approve(rbac, admin, pending)).rejects.toMatchObject({
      code: 'forbidden',
      message: 'a second person must approve this',
    });
    expect((await fresh(users[1]!)).roles).not.toContain('org_admin');
    // The same checks as before come first: step-up, not to oneself.
    await expect(
      grantRole(rbac, { ...admin, strongAuthAt: null }, users[1]!.userId, 'security_admin', 'x'),
    ).rejects.toMatchObject({ code: 'step_up_required' });
    await expect(grantRole(rbac, admin, admin.userId, 'security_admin', 'x')).rejects.toMatchObject({
      code: 'forbidden',
    });
  });

  it("S3: a puppet the requester invited, or granted a role, in the last 30 days cannot approve the requester's admin grant", async () => {
    const { deps, rbac, users, fresh, grantByTwo } = await setup();
    const admin = await fresh(users[0]!);
    // Puppet 1: invited by the admin, org_admin from the operator (so only the invitation ties them).
    const inv = await createInvite(deps.auth, admin.userId, { role: 'member', ttlHours: 1 });
    const name = uniqueName('pup');
    const { userId: pupId } = await enrol(deps.auth, { token: inv.token, username: name, password: PASS }, '10.0.0.7');
    await seedOperatorGrant({ db: h.get().db, sealer: deps.auth.sealer, clock: deps.clock }, pupId, 'org_admin');
    const s = await login(
      deps.auth,
      { username: name, password: PASS, device: { publicKey: newDevicePublicKey(), name: 'p', platform: 'p' } },
      '10.0.0.7',
    );
    const invited = {
      ...(await authenticateToken(deps.auth, (s as { token: string }).token)).principal,
      strongAuthAt: deps.clock.now(),
    };
    expect(invited.roles).toContain('org_admin');
    // Puppet 2: made by the operator, but its org_admin was granted by the admin (with a second person).
    await grantByTwo(admin, users[2]!.userId, 'org_admin', 'my helper');
    const granted = await fresh(users[2]!);
    expect(granted.roles).toContain('org_admin');
    const r = await grantRole(rbac, admin, users[1]!.userId, 'org_admin', 'for the takeover');
    const pending = (r as { pendingApproval: string }).pendingApproval;
    for (const puppet of [invited, granted]) {
      await expect(approve(rbac, puppet, pending)).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringMatching(/last 30 days/),
      });
      expect((await pendingApprovals(rbac, puppet)).map((p) => p.id)).not.toContain(pending);
    }
    expect(
      (await h.get().db.selectFrom('approvals').select('status').where('id', '=', pending).executeTakeFirstOrThrow())
        .status,
    ).toBe('pending');
    expect((await fresh(users[1]!)).roles).not.toContain('org_admin');
  });

  it('S3: the grantee cannot approve their own admin grant', async () => {
    const { rbac, users, fresh, operatorAdmin } = await setup();
    const admin = await fresh(users[0]!);
    const op = await fresh(operatorAdmin); // holds role.grant and is independent of the admin
    const r = await grantRole(rbac, admin, op.userId, 'security_admin', 'op wants security too');
    const pending = (r as { pendingApproval: string }).pendingApproval;
    expect((await pendingApprovals(rbac, op)).map((p) => p.id)).not.toContain(pending);
    await expect(approve(rbac, op, pending)).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/about you/),
    });
    expect((await fresh(operatorAdmin)).roles).not.toContain('security_admin');
    // The run refuses it as well, should an approval ever reach it.
    await expect(
      completeRoleGrant(
        rbac,
        { userId: op.userId, role: 'security_admin', reason: 'x' },
        { requestedBy: admin.userId, approvedBy: op.userId, approvalId: pending },
      ),
    ).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('S3: an independent holder of role.grant approves a direct org_admin grant: it takes effect, recorded and audited with both people', async () => {
    const { deps, rbac, users, fresh, operatorAdmin } = await setup();
    const admin = await fresh(users[0]!);
    const r = await grantRole(rbac, admin, users[1]!.userId, 'org_admin', 'second admin');
    const pending = (r as { pendingApproval: string }).pendingApproval;
    const op = await fresh(operatorAdmin);
    expect((await pendingApprovals(rbac, op)).find((p) => p.id === pending)).toMatchObject({
      action: ROLE_GRANT_ACTION,
      params: { userId: users[1]!.userId, role: 'org_admin', reason: 'second admin' },
      requestedBy: admin.userId,
    });
    await approve(rbac, op, pending);
    expect((await fresh(users[1]!)).roles).toContain('org_admin');
    const grant = await h
      .get()
      .db.selectFrom('role_grants')
      .selectAll()
      .where('user_id', '=', users[1]!.userId)
      .where('role', '=', 'org_admin')
      .executeTakeFirstOrThrow();
    expect(grant).toMatchObject({
      kind: 'standing',
      requested_by: admin.userId,
      approved_by: op.userId,
      approved_at: deps.clock.now(),
      revoked_at: null,
      expires_at: null,
    });
    const audit = await auditRecords(h.get().db, deps.auth.sealer, {
      action: 'role.granted',
      target: `${users[1]!.userId}/org_admin`,
    });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actorId: admin.userId,
      outcome: 'success',
      details: { reason: 'second admin', kind: 'standing', approvedBy: op.userId, approvalId: pending },
    });
    await expect(approve(rbac, op, pending)).rejects.toMatchObject({ code: 'already_decided' });
    expect(
      await h
        .get()
        .db.selectFrom('role_grants')
        .select('id')
        .where('user_id', '=', users[1]!.userId)
        .where('role', '=', 'org_admin')
        .execute(),
    ).toHaveLength(1);
  });

  it('S3: a direct auditor grant is still immediate, with no second person', async () => {
    const { deps, rbac, users, fresh } = await setup();
    const admin = await fresh(users[0]!);
    const approvalsBefore = (await h.get().db.selectFrom('approvals').select('id').execute()).length;
    const r = await grantRole(rbac, admin, users[1]!.userId, 'auditor', 'quarterly review');
    expect(Object.keys(r)).toEqual(['id']);
    expect((await fresh(users[1]!)).roles).toContain('auditor');
    expect((await h.get().db.selectFrom('approvals').select('id').execute()).length).toBe(approvalsBefore);
    const audit = await auditRecords(h.get().db, deps.auth.sealer, {
      action: 'role.granted',
      target: `${users[1]!.userId}/auditor`,
    });
    expect(audit.map((a) => a.actorId)).toEqual([admin.userId]);
  });

  it('S3: a pending admin grant expires after 24 hours, and is void once the requester loses role.grant (fake clock)', async () => {
    const { deps, rbac, users, fresh, operatorAdmin } = await setup();
    const admin = await fresh(users[0]!);
    const old = ((await grantRole(rbac, admin, users[1]!.userId, 'org_admin', 'old')) as { pendingApproval: string })
      .pendingApproval;
    deps.clock.advance(24 * 3_600_000);
    await expect(approve(rbac, await fresh(operatorAdmin), old)).rejects.toMatchObject({ code: 'already_decided' });
    expect((await fresh(users[1]!)).roles).not.toContain('org_admin');
    const fresher = (
      (await grantRole(rbac, await fresh(users[0]!), users[1]!.userId, 'org_admin', 'new')) as {
        pendingApproval: string;
      }
    ).pendingApproval;
    // The requester's org_admin is revoked (say, the session was stolen): its pending grant is void.
    await revokeRole(rbac, await fresh(operatorAdmin), admin.userId, 'org_admin');
    await expect(approve(rbac, await fresh(operatorAdmin), fresher)).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/no longer holds role.grant/),
    });
    expect((await fresh(users[1]!)).roles).not.toContain('org_admin');
  });
});
