import { describe, expect, it } from 'vitest';
import { authenticateToken, createInvite, enrol, login } from '../auth/index.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { grantId, rbacFixture } from '../test-support/rbac-fixture.js';
import { loginAgain, newDevicePublicKey, PASS, uniqueName } from '../test-support/users.js';
import { auditRecords } from '../test-support/audit.js';
import {
  approve,
  approveElevation,
  grantRole,
  listGrants,
  pendingApprovals,
  pendingElevations,
  requestApproval,
  requestElevation,
  ROLE_PERMISSIONS,
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
  const setup = () => rbacFixture(h);
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
});
