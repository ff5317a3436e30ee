import { expect, it } from 'vitest';
import { totpAt } from '../crypto/index.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { testDeps } from '../test-support/deps.js';
import { loginAgain, makeUsers, newDevicePublicKey, PASS, uniqueName } from '../test-support/users.js';
import {
  authenticateToken,
  changePassword,
  completeMfaLogin,
  confirmTotp,
  failureDelayMs,
  listFactors,
  login,
  regenerateRecoveryCodes,
  removeFactor,
  startTotpEnrolment,
  stepUp,
} from './index.js';

const device = () => ({ publicKey: newDevicePublicKey(), name: 'phone', platform: 'ios' });

withAllStores('multi-factor authentication', (h) => {
  /** A user with a confirmed TOTP factor; returns what the tests need. */
  const enrolled = async () => {
    const deps = await testDeps(h.get());
    const [p] = await makeUsers(deps.auth, [uniqueName('m')]);
    const t = await startTotpEnrolment(deps.auth, p!);
    const { recoveryCodes } = await confirmTotp(deps.auth, p!, t.id, totpAt({ base32: t.secret }, deps.clock.now()));
    deps.clock.advance(30_000);
    const code = () => totpAt({ base32: t.secret }, deps.clock.now());
    if (!recoveryCodes) throw new Error('expected recovery codes with the first factor');
    return { deps, p: p!, t, recoveryCodes, code };
  };
  const passwordStep = async (deps: Awaited<ReturnType<typeof testDeps>>, username: string) => {
    const r = await login(deps.auth, { username, password: PASS, device: device() }, '10.1.1.1');
    if (!('mfaRequired' in r)) throw new Error('expected an MFA challenge');
    return r.challenge;
  };

  it('v5.0.0-6.3.3 seals the TOTP secret and asks for the second factor after the password', async () => {
    const { deps, p, t, code } = await enrolled();
    const row = await h
      .get()
      .db.selectFrom('authenticators')
      .selectAll()
      .where('id', '=', t.id)
      .executeTakeFirstOrThrow();
    expect(row.secret_sealed).not.toContain(t.secret);
    const challenge = await passwordStep(deps, p.username);
    const s = await completeMfaLogin(deps.auth, { challenge, code: code() }, '10.1.1.1');
    expect(s.aal).toBe(2);
    expect((await authenticateToken(deps.auth, s.token)).principal.aal).toBe(2);
    await expect(completeMfaLogin(deps.auth, { challenge, code: code() }, '10.1.1.1')).rejects.toMatchObject({
      code: 'code_invalid',
    });
  });

  it('v5.0.0-6.5.1 refuses a replayed TOTP code', async () => {
    const { deps, p, code } = await enrolled();
    const c = code();
    await completeMfaLogin(deps.auth, { challenge: await passwordStep(deps, p.username), code: c }, '10.1.1.2');
    await expect(
      completeMfaLogin(deps.auth, { challenge: await passwordStep(deps, p.username), code: c }, '10.1.1.2'),
    ).rejects.toMatchObject({ code: 'code_invalid' });
    deps.clock.advance(30_000);
    await expect(
      completeMfaLogin(deps.auth, { challenge: await passwordStep(deps, p.username), code: code() }, '10.1.1.2'),
    ).resolves.toMatchObject({ aal: 2 });
  });

  it('accepts each recovery code once', async () => {
    const { deps, p, recoveryCodes } = await enrolled();
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    const stored = await h
      .get()
      .db.selectFrom('recovery_codes')
      .select('code_hash')
      .where('user_id', '=', p.userId)
      .execute();
    expect(JSON.stringify(stored)).not.toContain(recoveryCodes[0]!.replace(/-/g, ''));
    const rc = recoveryCodes[0]!.toLowerCase(); // case and separators do not matter
    await expect(
      completeMfaLogin(deps.auth, { challenge: await passwordStep(deps, p.username), recoveryCode: rc }, '10.1.1.3'),
    ).resolves.toMatchObject({ aal: 2 });
    await expect(
      completeMfaLogin(deps.auth, { challenge: await passwordStep(deps, p.username), recoveryCode: rc }, '10.1.1.3'),
    ).rejects.toMatchObject({ code: 'code_invalid' });
    expect((await listFactors(deps.auth, p)).recoveryCodesLeft).toBe(9);
  });

  it('800-63B-4 §3.2.2: the 100th consecutive failure disables the factor; delays grow before that', async () => {
    const { deps, p, t, code } = await enrolled();
    expect([4, 5, 6, 10, 100].map(failureDelayMs)).toEqual([0, 1000, 2000, 32_000, 300_000]);
    for (let i = 1; i <= 100; i++) {
      const wrong = code() === '000000' ? '111111' : '000000';
      const err = await stepUp(deps.auth, p, wrong, null).catch((e: { code: string }) => e.code);
      expect(err).toBe(i === 100 ? 'factor_disabled' : 'code_invalid');
      // Before the delay has passed, even the right code is refused.
      if (i === 6) await expect(stepUp(deps.auth, p, code(), null)).rejects.toMatchObject({ code: 'rate_limited' });
      deps.clock.advance(failureDelayMs(i) + 30_000);
    }
    const row = await h
      .get()
      .db.selectFrom('authenticators')
      .select(['disabled_at', 'failures'])
      .where('id', '=', t.id)
      .executeTakeFirstOrThrow();
    expect(row.failures).toBe(100);
    expect(row.disabled_at).not.toBeNull();
    await expect(stepUp(deps.auth, p, code(), null)).rejects.toMatchObject({ code: 'factor_disabled' });
    const audit = await h
      .get()
      .db.selectFrom('audit_log')
      .select('action')
      .where('target', '=', t.id)
      .where('action', '=', 'factor.disabled')
      .execute();
    expect(audit).toHaveLength(1);
  });

  it('v5.0.0-7.5.1 needs a recent step-up to remove a factor or replace recovery codes', async () => {
    const { deps, p, t, code } = await enrolled();
    const s = await completeMfaLogin(
      deps.auth,
      { challenge: await passwordStep(deps, p.username), code: code() },
      '10.1.1.4',
    );
    let principal = (await authenticateToken(deps.auth, s.token)).principal;
    deps.clock.advance(11 * 60_000);
    principal = (await authenticateToken(deps.auth, s.token)).principal;
    await expect(removeFactor(deps.auth, principal, t.id)).rejects.toMatchObject({ code: 'step_up_required' });
    await expect(regenerateRecoveryCodes(deps.auth, principal)).rejects.toMatchObject({ code: 'step_up_required' });
    await stepUp(deps.auth, principal, code(), null);
    principal = (await authenticateToken(deps.auth, s.token)).principal;
    await expect(regenerateRecoveryCodes(deps.auth, principal)).resolves.toMatchObject({
      recoveryCodes: expect.any(Array),
    });
    await removeFactor(deps.auth, principal, t.id);
    expect((await listFactors(deps.auth, principal)).factors).toHaveLength(0);
  });

  it('v5.0.0-6.3.3 allows password-only sessions only during the enrolment grace', async () => {
    const deps = await testDeps(h.get());
    const [p] = await makeUsers(deps.auth, [uniqueName('g')]);
    const r = await loginAgain(deps.auth, p!);
    expect(r).toMatchObject({ aal: 1, mfaEnrolmentDueBy: expect.any(String) });
    deps.clock.advance(72 * 3_600_000);
    await expect(
      login(deps.auth, { username: p!.username, password: PASS, device: device() }, '10.1.1.5'),
    ).rejects.toMatchObject({ code: 'mfa_enrolment_required' });
  });

  it('refuses a wrong confirmation code and keeps the factor unconfirmed', async () => {
    const deps = await testDeps(h.get());
    const [p] = await makeUsers(deps.auth, [uniqueName('c')]);
    const t = await startTotpEnrolment(deps.auth, p!);
    const right = totpAt({ base32: t.secret }, deps.clock.now());
    await expect(confirmTotp(deps.auth, p!, t.id, right === '123456' ? '654321' : '123456')).rejects.toMatchObject({
      code: 'code_invalid',
    });
    expect((await listFactors(deps.auth, p!)).factors[0]).toMatchObject({ confirmed: false });
    const r = await loginAgain(deps.auth, p!);
    expect('mfaRequired' in r).toBe(false); // an unconfirmed app does not count as a factor
  });
});

withAllStores('password change', (h) => {
  it('800-63B-4 §3.1.1.2: 8 code points suffice with a second factor, 15 without; other sessions end', async () => {
    const deps = await testDeps(h.get());
    const [p] = await makeUsers(deps.auth, [uniqueName('pw')]);
    await expect(changePassword(deps.auth, p!, PASS, 'short but ok', null)).rejects.toMatchObject({
      code: 'weak_password',
    }); // 12 < 15 without MFA
    const second = await loginAgain(deps.auth, p!); // another session, to be ended by the change
    const t = await startTotpEnrolment(deps.auth, p!);
    await confirmTotp(deps.auth, p!, t.id, totpAt({ base32: t.secret }, deps.clock.now()));
    const other = await loginAgain(deps.auth, p!).catch(() => undefined); // MFA now: the password step alone returns a challenge
    expect(other).toBeUndefined();
    await expect(authenticateToken(deps.auth, second.token)).rejects.toMatchObject({ code: 'session_invalid' }); // S5: adding a factor ended it
    deps.clock.advance(30_000);
    const ch = await login(deps.auth, { username: p!.username, password: PASS, device: device() }, '10.2.2.1');
    if (!('mfaRequired' in ch)) throw new Error('expected MFA');
    const third = await completeMfaLogin(
      deps.auth,
      { challenge: ch.challenge, code: totpAt({ base32: t.secret }, deps.clock.now()) },
      '10.2.2.1',
    );
    await expect(
      changePassword(deps.auth, { ...p!, strongAuthAt: null }, PASS, 'tulip9orbit', null),
    ).rejects.toMatchObject({ code: 'step_up_required' });
    const stepped = { ...p!, strongAuthAt: deps.clock.now() };
    await expect(changePassword(deps.auth, stepped, 'not the current one', 'tulip9orbit', null)).rejects.toMatchObject({
      code: 'auth_failed',
    });
    await expect(changePassword(deps.auth, stepped, PASS, 'abc1234', null)).rejects.toMatchObject({
      code: 'weak_password',
    }); // 7
    await expect(authenticateToken(deps.auth, third.token)).resolves.toMatchObject({
      principal: { userId: p!.userId },
    });
    await changePassword(deps.auth, stepped, PASS, 'tulip9orbit', null); // 11 code points, fine with MFA
    await expect(authenticateToken(deps.auth, third.token)).rejects.toMatchObject({ code: 'session_invalid' });
    const r = await login(deps.auth, { username: p!.username, password: 'tulip9orbit', device: device() }, '10.2.2.2');
    expect('mfaRequired' in r).toBe(true);
  });
});
