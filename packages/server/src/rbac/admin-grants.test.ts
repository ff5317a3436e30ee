import { expect, it } from 'vitest';
import { authenticateToken, createInvite, enrol, login } from '../auth/index.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { rbacFixture } from '../test-support/rbac-fixture.js';
import { newDevicePublicKey, PASS, uniqueName } from '../test-support/users.js';
import { auditRecords } from '../test-support/audit.js';
import { seedOperatorGrant } from '../test-support/grants.js';
import { approve, completeRoleGrant, grantRole, pendingApprovals, revokeRole, ROLE_GRANT_ACTION } from './index.js';

withAllStores('direct grants of the admin roles need a second person (S3)', (h) => {
  const setup = () => rbacFixture(h);
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
