import { expect, it } from 'vitest';
import {
  assertRecentStrongAuth,
  authenticateServiceToken,
  authenticateToken,
  checkSessions,
  completeMfaLogin,
  confirmTotp,
  createServiceAccount,
  disableUser,
  issueServiceToken,
  login,
  startTotpEnrolment,
  stepUp,
} from '../../auth/index.js';
import { totpAt } from '../../crypto/index.js';
import { auditRecords } from '../../test-support/audit.js';
import { responderFixture } from '../../test-support/responder.js';
import { firstDeviceKeyOf, loginAgain, newDevicePublicKey, PASS } from '../../test-support/users.js';
import { withAllStores } from '../../test-support/with-all-stores.js';

const DAY = 86_400_000;

withAllStores('response: account containments are enforced and reversible', (h) => {
  it('lock_account waits for approval by a policy.manage holder who is not its subject; locks login and sessions; undo and expiry restore', async () => {
    const fx = await responderFixture(h.get());
    const { auth } = fx.deps;
    const before = await loginAgain(auth, fx.victim);
    const f = fx.finding({
      ruleId: 'org.mass_deletion',
      subject: { kind: 'organisation', id: 'org' },
      userId: fx.victim.userId,
    });
    const [c] = await fx.responder.respond(f);
    expect(c).toMatchObject({ action: 'lock_account', state: 'pending_approval', appliedAt: null });
    await loginAgain(auth, fx.victim); // not in force yet
    await expect(fx.responder.approve(c!.id, fx.other())).rejects.toMatchObject({ code: 'forbidden' });
    // SECURITY: the subject of a containment cannot decide on it, even as a security admin.
    const own = await fx.responder.respond(
      fx.finding({
        ruleId: 'org.mass_deletion',
        subject: { kind: 'organisation', id: 'org' },
        userId: fx.admin().userId,
      }),
    );
    await expect(fx.responder.approve(own[0]!.id, fx.admin())).rejects.toMatchObject({ code: 'forbidden' });

    const approved = await fx.responder.approve(c!.id, fx.admin());
    expect(approved).toMatchObject({ state: 'active', expiresAt: fx.deps.clock.now() + DAY });
    await expect(fx.responder.approve(c!.id, fx.admin())).rejects.toMatchObject({ code: 'already_decided' });
    await expect(authenticateToken(auth, before.token)).rejects.toMatchObject({ code: 'session_invalid' });
    await expect(loginAgain(auth, fx.victim)).rejects.toMatchObject({ code: 'account_locked' });
    // No account-state oracle: a wrong password still gets auth_failed.
    await expect(
      login(
        auth,
        {
          username: fx.victim.username,
          password: 'wrong ' + PASS,
          device: { publicKey: firstDeviceKeyOf(fx.victim.userId), name: 't', platform: 't' },
        },
        '10.0.0.9',
      ),
    ).rejects.toMatchObject({ code: 'auth_failed' });
    const locked = await h
      .get()
      .db.selectFrom('users')
      .selectAll()
      .where('id', '=', fx.victim.userId)
      .executeTakeFirstOrThrow();
    expect(locked.disabled_at).toBeNull(); // a lock is not an admin's disable

    await fx.responder.undo(c!.id, fx.admin());
    const after = await loginAgain(auth, fx.victim);
    const sid = (await authenticateToken(auth, after.token)).principal.sessionId;
    expect((await checkSessions(auth, [sid])).get(sid)).toMatchObject({ ok: true });
    const trail = await auditRecords(h.get().db, auth.sealer, { target: c!.id });
    expect(trail.map((a) => a.action)).toEqual([
      'containment.pending_approval',
      'containment.approved',
      'containment.undone',
    ]);
    expect(trail[1]!.actorId).toBe(fx.admin().userId);

    // Expiry: approved again (a new finding), a day later it lifts itself.
    const [c2] = await fx.responder.respond({ ...f, id: f.id + 'b' });
    await fx.responder.approve(c2!.id, fx.admin());
    await expect(loginAgain(auth, fx.victim)).rejects.toMatchObject({ code: 'account_locked' });
    fx.deps.clock.advance(DAY);
    expect(await fx.responder.expireDue()).toBe(1);
    await loginAgain(auth, fx.victim);
  });

  it('undoing a lock never re-enables an account an admin disabled; two locks: undoing one keeps the other', async () => {
    const fx = await responderFixture(h.get(), {
      requireApprovalFor: [],
      playbooks: { 'org.mass_deletion': { steps: [{ action: 'lock_account' }] } },
    });
    const { auth } = fx.deps;
    const f = (n: string) =>
      fx.finding({
        id: n + fx.victim.userId,
        ruleId: 'org.mass_deletion',
        subject: { kind: 'organisation', id: 'org' },
        userId: fx.victim.userId,
      });
    const [a] = await fx.responder.respond(f('a'));
    const [b] = await fx.responder.respond(f('b'));
    expect([a!.state, b!.state, a!.expiresAt]).toEqual(['active', 'active', null]);
    await fx.responder.undo(a!.id, fx.admin());
    await expect(loginAgain(auth, fx.victim)).rejects.toMatchObject({ code: 'account_locked' });
    await disableUser(auth, fx.admin(), fx.victim.userId, null);
    await fx.responder.undo(b!.id, fx.admin());
    await expect(loginAgain(auth, fx.victim)).rejects.toMatchObject({ code: 'account_disabled' });
  });

  it('require_step_up: sessions must verify a factor again, logins need one; blocked sources are refused at the MFA step', async () => {
    const fx = await responderFixture(h.get());
    const { auth, clock } = fx.deps;
    const t = await startTotpEnrolment(auth, fx.victim);
    await confirmTotp(auth, fx.victim, t.id, totpAt({ base32: t.secret }, clock.now()));
    clock.advance(30_000);
    const device = { publicKey: firstDeviceKeyOf(fx.victim.userId), name: 't', platform: 't' };
    const r = await login(auth, { username: fx.victim.username, password: PASS, device }, '10.0.0.9');
    if (!('mfaRequired' in r)) throw new Error('expected MFA');
    const s = await completeMfaLogin(
      auth,
      { challenge: r.challenge, code: totpAt({ base32: t.secret }, clock.now()) },
      '10.0.0.9',
    );
    assertRecentStrongAuth(auth, (await authenticateToken(auth, s.token)).principal);

    const f = fx.finding({
      ruleId: 'auth.password_spraying',
      subject: { kind: 'address', id: '198.51.100.30' },
      evidence: { targetUserIds: [fx.victim.userId, fx.other().userId, 'no-such-user'] },
    });
    const cs = await fx.responder.respond(f);
    expect(cs.map((c) => [c.action, c.subject.id])).toEqual([
      ['block_address', '198.51.100.30/32'],
      ['require_step_up', fx.victim.userId],
      ['require_step_up', fx.other().userId],
    ]);
    const p = (await authenticateToken(auth, s.token)).principal;
    expect(() => assertRecentStrongAuth(auth, p)).toThrow(expect.objectContaining({ code: 'step_up_required' }));
    clock.advance(30_000);
    await stepUp(auth, p, totpAt({ base32: t.secret }, clock.now()), null); // re-verifying is the way out
    assertRecentStrongAuth(auth, (await authenticateToken(auth, s.token)).principal);
    // An account without a factor (in its enrolment grace) cannot log in with a password alone now.
    await expect(loginAgain(auth, fx.other())).rejects.toMatchObject({ code: 'step_up_required' });
    await fx.responder.undo(cs[2]!.id, fx.admin());
    await loginAgain(auth, fx.other());

    // A challenge started elsewhere, finished from the blocked address.
    const r2 = await login(auth, { username: fx.victim.username, password: PASS, device }, '10.0.0.9');
    if (!('mfaRequired' in r2)) throw new Error('expected MFA');
    clock.advance(30_000);
    await expect(
      completeMfaLogin(
        auth,
        { challenge: r2.challenge, code: totpAt({ base32: t.secret }, clock.now()) },
        '198.51.100.30',
      ),
    ).rejects.toMatchObject({ code: 'address_blocked' });
  });

  it('suspend_service_account refuses its tokens until undone', async () => {
    const fx = await responderFixture(h.get());
    const { auth } = fx.deps;
    const svc = await createServiceAccount(
      auth,
      fx.admin(),
      'bot' +
        fx.victim.userId
          .slice(0, 6)
          .toLowerCase()
          .replace(/[^a-z0-9]/g, 'x'),
    );
    const t = await issueServiceToken(auth, fx.admin(), svc.id, {
      scopes: [{ action: 'message.send', conversations: '*' }],
      expiresInDays: 7,
      ratePerMinute: 60,
    });
    await authenticateServiceToken(auth, t.token, '10.0.0.1');
    const [c] = await fx.responder.respond(
      fx.finding({ ruleId: 'service_account.misuse', subject: { kind: 'service_account', id: svc.id } }),
    );
    expect(c).toMatchObject({ action: 'suspend_service_account', state: 'active', expiresAt: null });
    await expect(authenticateServiceToken(auth, t.token, '10.0.0.1')).rejects.toMatchObject({
      code: 'session_invalid',
    });
    await fx.responder.undo(c!.id, fx.admin());
    await authenticateServiceToken(auth, t.token, '10.0.0.1');
  });

  it("token replay revokes the user's sessions (published) and demands step-up; revoke_devices by config revokes the session's device", async () => {
    const fx = await responderFixture(h.get(), {
      playbooks: { 'session.device_mismatch': { steps: [{ action: 'revoke_devices' }] } },
    });
    const { auth } = fx.deps;
    const s = await loginAgain(auth, fx.victim);
    const sid = (await authenticateToken(auth, s.token)).principal.sessionId;
    const cs = await fx.responder.respond(
      fx.finding({ ruleId: 'session.token_replay', subject: { kind: 'session', id: sid } }),
    );
    expect(cs.map((c) => [c.action, c.subject.id])).toEqual([
      ['revoke_sessions', fx.victim.userId],
      ['require_step_up', fx.victim.userId],
    ]);
    await expect(authenticateToken(auth, s.token)).rejects.toMatchObject({ code: 'session_invalid' });
    expect(
      fx.deps.events.some(
        (e) => e.type === 'session.revoked' && (e.data as { sessionIds: string[] }).sessionIds.includes(sid),
      ),
    ).toBe(true);
    await fx.responder.undo(cs[0]!.id, fx.admin()); // recorded; revoked sessions stay revoked
    await expect(authenticateToken(auth, s.token)).rejects.toMatchObject({ code: 'session_invalid' });

    const s2 = await loginAgain(auth, fx.other());
    const p2 = (await authenticateToken(auth, s2.token)).principal;
    const [d] = await fx.responder.respond(
      fx.finding({ ruleId: 'session.device_mismatch', subject: { kind: 'session', id: p2.sessionId } }),
    );
    expect(d).toMatchObject({ action: 'revoke_devices', state: 'active' });
    await expect(loginAgain(auth, fx.other())).rejects.toMatchObject({ code: 'invalid_device_key' });
    const rec = await auditRecords(h.get().db, auth.sealer, { target: p2.deviceId, action: 'device.revoked' });
    expect(rec).toHaveLength(1);
    // A fresh device key still works: the user is not locked out.
    const fresh = await login(
      auth,
      {
        username: fx.other().username,
        password: PASS,
        device: { publicKey: newDevicePublicKey(), name: 'n', platform: 't' },
      },
      '10.0.0.9',
    ).catch((e: { code: string }) => e);
    expect(fresh).toHaveProperty('token'); // no trusted device is left, so the new one is trusted at once
  });
});
