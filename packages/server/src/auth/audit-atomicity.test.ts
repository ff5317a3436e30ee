import { describe, expect, it } from 'vitest';
// A plain ESM script (scripts/arch-check.mjs, run by `npm run lint`), typed by scripts/arch-check.d.mts.
import { ROOT_AUDIT_ALLOWED, runChecks, scanRootAudit } from '../../../../scripts/arch-check.mjs';
import {
  assertRecentStrongAuth,
  authenticateToken,
  changePassword,
  createInvite,
  disableUser,
  enrol,
  login,
  type AuthDeps,
} from './index.js';
import type { Principal } from '../core/index.js';
import { grantRole, revokeRole, type RbacDeps } from '../rbac/index.js';
import { auditRecords } from '../test-support/audit.js';
import { testDeps } from '../test-support/deps.js';
import { loginAgain, makeUsers, newDevicePublicKey, PASS, uniqueName } from '../test-support/users.js';
import { installAuditFailure } from '../test-support/audit-failure.js';
import { withAllStores } from '../test-support/with-all-stores.js';

const injected = /injected audit failure/;

withAllStores('a change and its audit record commit together, or neither does', (h) => {
  const setup = async () => {
    const deps = await testDeps(h.get());
    const [admin, other] = await makeUsers(deps.auth, [uniqueName('boss'), uniqueName('usr')], ['org_admin']);
    const fault = await installAuditFailure(h);
    const strong = (p: Principal): Principal => ({ ...p, strongAuthAt: deps.clock.now() });
    const rbac: RbacDeps = {
      db: h.get().db,
      clock: deps.clock,
      bus: deps.bus,
      sealer: deps.auth.sealer,
      assertStepUp: (p) => assertRecentStrongAuth(deps.auth, p),
      actions: {},
    };
    return { deps, auth: deps.auth, admin: admin!, other: other!, fault, strong, rbac };
  };
  const records = (auth: AuthDeps, action: string, target?: string) =>
    auditRecords(auth.db, auth.sealer, { action, ...(target !== undefined ? { target } : {}) });

  it('disable: a failure after the audit record (ending the sessions) leaves the user enabled and unaudited; then both commit', async () => {
    const { auth, admin, other, fault, strong } = await setup();
    await fault.arm('session.revoked');
    await expect(disableUser(auth, strong(admin), other.userId, '10.0.0.1')).rejects.toThrow(injected);
    const user = () =>
      auth.db.selectFrom('users').select('disabled_at').where('id', '=', other.userId).executeTakeFirstOrThrow();
    expect((await user()).disabled_at).toBeNull();
    expect(await records(auth, 'user.disabled', other.userId)).toHaveLength(0);
    await expect(authenticateToken(auth, (await loginAgain(auth, other)).token)).resolves.toMatchObject({
      principal: { userId: other.userId },
    });
    await fault.disarm();
    await disableUser(auth, strong(admin), other.userId, '10.0.0.1');
    expect((await user()).disabled_at).not.toBeNull();
    expect(await records(auth, 'user.disabled', other.userId)).toHaveLength(1);
    const open = await auth.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', other.userId)
      .where('revoked_at', 'is', null)
      .execute();
    expect(open).toHaveLength(0);
  });

  it('role grant and revoke: a failing audit insert leaves no grant (or the grant in place); then both commit', async () => {
    const { auth, admin, other, fault, strong, rbac } = await setup();
    const target = `${other.userId}/auditor`;
    const active = () =>
      auth.db
        .selectFrom('role_grants')
        .select('id')
        .where('user_id', '=', other.userId)
        .where('role', '=', 'auditor')
        .where('revoked_at', 'is', null)
        .execute();
    await fault.arm('role.granted');
    await expect(grantRole(rbac, strong(admin), other.userId, 'auditor', 'quarterly review')).rejects.toThrow(injected);
    expect(await active()).toHaveLength(0);
    expect(await records(auth, 'role.granted', target)).toHaveLength(0);
    await fault.disarm();
    await grantRole(rbac, strong(admin), other.userId, 'auditor', 'quarterly review');
    expect(await active()).toHaveLength(1);
    expect(await records(auth, 'role.granted', target)).toHaveLength(1);

    await fault.arm('role.revoked');
    await expect(revokeRole(rbac, strong(admin), other.userId, 'auditor')).rejects.toThrow(injected);
    expect(await active()).toHaveLength(1);
    expect(await records(auth, 'role.revoked', target)).toHaveLength(0);
    await fault.disarm();
    expect(await revokeRole(rbac, strong(admin), other.userId, 'auditor')).toBe(1);
    expect(await active()).toHaveLength(0);
    expect(await records(auth, 'role.revoked', target)).toHaveLength(1);
  });

  it('password change: a failure after its audit record (ending the other sessions) keeps the old password; then both commit', async () => {
    const { auth, other, fault } = await setup();
    const otherSession = await loginAgain(auth, other);
    const next = 'copper meadow signal harbour 77';
    await fault.arm('session.revoked');
    await expect(changePassword(auth, other, PASS, next, '10.0.0.1')).rejects.toThrow(injected);
    expect(await records(auth, 'password.changed')).toEqual(
      expect.not.arrayContaining([expect.objectContaining({ actorId: other.userId })]),
    );
    await expect(loginAgain(auth, other)).resolves.toMatchObject({ token: expect.any(String) });
    await expect(authenticateToken(auth, otherSession.token)).resolves.toBeTruthy();
    await fault.disarm();
    await changePassword(auth, other, PASS, next, '10.0.0.1');
    expect((await records(auth, 'password.changed')).filter((r) => r.actorId === other.userId)).toHaveLength(1);
    await expect(loginAgain(auth, other)).rejects.toMatchObject({ code: 'auth_failed' });
    await expect(authenticateToken(auth, otherSession.token)).rejects.toMatchObject({ code: 'session_invalid' });
  });

  it('enrolment: a failing audit insert creates no account and leaves the invite usable; a failed attempt is still audited', async () => {
    const { auth, fault } = await setup();
    const { token } = await createInvite(auth, null, { role: 'member', ttlHours: 1 });
    const username = uniqueName('new');
    const failedBefore = (await records(auth, 'enrolment.failed')).length;
    await fault.arm('user.enrolled');
    await expect(enrol(auth, { token, username, password: PASS }, '10.0.0.7')).rejects.toThrow(injected);
    expect(await auth.db.selectFrom('users').select('id').where('username', '=', username).execute()).toHaveLength(0);
    await fault.disarm();
    const { userId } = await enrol(auth, { token, username, password: PASS }, '10.0.0.7');
    expect(await records(auth, 'user.enrolled', userId)).toHaveLength(1);
    const s = await login(
      auth,
      { username, password: PASS, device: { publicKey: newDevicePublicKey(), name: 't', platform: 't' } },
      '10.0.0.7',
    );
    expect(s).toMatchObject({ token: expect.any(String) });
    // The invite is used now: a second attempt fails, commits nothing, and its record stands alone.
    await expect(
      enrol(auth, { token, username: uniqueName('again'), password: PASS }, '10.0.0.7'),
    ).rejects.toMatchObject({ code: 'token_invalid' });
    expect((await records(auth, 'enrolment.failed')).length).toBe(failedBefore + 1);
  });
});

describe('audit records of changes are never written on the root db (static scan of packages/server/src)', () => {
  it('flags recordAudit(deps.db, …) for a success record and passes the listed failure sites', () => {
    const change =
      "await recordAudit(deps.db, deps.sealer, { at: now, actorId: a, action: 'user.disabled', target: id, outcome: 'success' });";
    expect(scanRootAudit('packages/server/src/auth/admin-actions.ts', change)).toEqual([
      expect.objectContaining({ rule: 'audit-in-change-tx', line: 1 }),
    ]);
    expect(scanRootAudit('packages/server/src/auth/admin-actions.ts', change.replace('deps.db', 'tx'))).toEqual([]);
    const failure =
      "await recordAudit(deps.db, deps.sealer, { at: now, actorId: null, action: 'login.failed', address, outcome: 'failure' });";
    expect(ROOT_AUDIT_ALLOWED['auth/login.ts']).toContain("'login.failed'");
    expect(scanRootAudit('packages/server/src/auth/login.ts', failure)).toEqual([]);
  });

  it('finds no root-db audit record outside the allow-list in the real tree, and every layer rule fires on its fixture', () => {
    expect(runChecks()).toEqual([]);
  });
});
