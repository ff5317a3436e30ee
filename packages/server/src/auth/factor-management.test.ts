import { expect, it } from 'vitest';
import { attestationAllowlist, totpAt } from '../crypto/index.js';
import { makeAttestationCa } from '../test-support/attestation-ca.js';
import { auditRecords } from '../test-support/audit.js';
import { testDeps } from '../test-support/deps.js';
import { SOFT_AAGUID, SoftAuthenticator } from '../test-support/soft-authenticator.js';
import { loginAgain, makeUsers, newDevicePublicKey, PASS, uniqueName } from '../test-support/users.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import type { Principal } from '../core/index.js';
import {
  authenticateToken,
  changePassword,
  completeMfaLogin,
  confirmTotp,
  finishPasskeyLogin,
  finishPasskeyRegistration,
  listFactors,
  listUsers,
  login,
  purgeExpired,
  removeFactor,
  resetFactors,
  startPasskeyLogin,
  startPasskeyRegistration,
  startTotpEnrolment,
} from './index.js';

const ORIGIN = 'https://localhost:8443';
const ca = await makeAttestationCa(SOFT_AAGUID);
const device = () => ({ publicKey: newDevicePublicKey(), name: 'laptop', platform: 'linux' });

withAllStores('factor management (S2, S5, S16, S19, S20)', (h) => {
  const setup = async () => {
    const deps = await testDeps(h.get());
    deps.auth.rp = {
      ...deps.auth.rp,
      attestation: attestationAllowlist([{ aaguid: SOFT_AAGUID, rootPems: [ca.rootPem] }]),
    };
    const [alice] = await makeUsers(deps.auth, [uniqueName('al')]);
    // The attacker holds a second session of alice's during her enrolment grace (no factor yet).
    const attacker = (await authenticateToken(deps.auth, (await loginAgain(deps.auth, alice!)).token)).principal;
    return { deps, alice: alice!, attacker };
  };
  const plantPasskey = async (
    deps: Awaited<ReturnType<typeof setup>>['deps'],
    who: Principal,
    key = new SoftAuthenticator(ORIGIN, 'localhost', {
      userVerified: true,
      backupEligible: false,
      attestation: { fmt: 'packed', ca },
    }),
  ) => {
    const o = await startPasskeyRegistration(deps.auth, who);
    return {
      key,
      reg: await finishPasskeyRegistration(
        deps.auth,
        who,
        o.challengeId,
        key.register(o.options),
        'backdoor',
        '10.66.0.1',
      ),
    };
  };
  const stepped = (p: Principal, at: number) => ({ ...p, strongAuthAt: at, strongAuthMethod: 'totp' });

  it('S2: a passkey planted during the grace is listed, audited, counted as MFA, removable with step-up, and gone after the factor reset', async () => {
    const { deps, alice, attacker } = await setup();
    const { key, reg } = await plantPasskey(deps, attacker);
    expect(reg).toMatchObject({ deviceBound: true, aal: 3, aalReason: 'attested' });
    expect(reg.recoveryCodes).toHaveLength(10);
    const listed = await listFactors(deps.auth, alice);
    expect(listed.factors).toEqual([
      expect.objectContaining({
        id: reg.id,
        kind: 'passkey',
        label: 'backdoor',
        deviceBound: true,
        aal: 3,
        aalReason: 'attested',
        lastUsedAt: null,
      }),
    ]);
    expect((await listUsers(deps.auth)).find((u) => u.id === alice.userId)?.mfa).toBe(true);
    expect(await auditRecords(h.get().db, deps.auth.sealer, { action: 'factor.enrolled', target: reg.id })).toEqual([
      expect.objectContaining({
        actorId: alice.userId,
        details: expect.objectContaining({ kind: 'passkey', firstFactor: true }),
      }),
    ]);
    // Alice's own session ended at once: the planting cannot go unnoticed.
    expect(
      (
        await h
          .get()
          .db.selectFrom('sessions')
          .select('revoked_at')
          .where('id', '=', alice.sessionId)
          .executeTakeFirstOrThrow()
      ).revoked_at,
    ).not.toBeNull();
    // Removing it needs a recent strong factor, then works for a passkey id like any factor.
    await expect(removeFactor(deps.auth, { ...alice, strongAuthAt: null }, reg.id)).rejects.toMatchObject({
      code: 'step_up_required',
    });
    await removeFactor(deps.auth, stepped(alice, deps.clock.now()), reg.id);
    expect((await listFactors(deps.auth, alice)).factors).toEqual([]);
    expect(await auditRecords(h.get().db, deps.auth.sealer, { action: 'factor.removed', target: reg.id })).toHaveLength(
      1,
    );
    // Planted again, then the two-person reset: no passkey survives, and passkey login fails.
    const again = await plantPasskey(deps, attacker, key);
    await resetFactors(deps.auth, alice.userId, { requestedBy: 'sec1', approvedBy: 'sec2' });
    expect(await h.get().db.selectFrom('passkeys').select('id').where('user_id', '=', alice.userId).execute()).toEqual(
      [],
    );
    expect((await listUsers(deps.auth)).find((u) => u.id === alice.userId)?.mfa).toBe(false);
    const o = await startPasskeyLogin(deps.auth, '10.66.0.2');
    await expect(
      finishPasskeyLogin(deps.auth, o.challengeId, again.key.assert(o.options), device(), '10.66.0.2'),
    ).rejects.toMatchObject({ code: 'code_invalid' });
  });

  it('S5: a TOTP enrolment started during the grace cannot be confirmed once the user has a factor; adding one ends the other sessions', async () => {
    const { deps, alice, attacker } = await setup();
    const x = await startTotpEnrolment(deps.auth, attacker); // the attacker knows X's secret
    const y = await startTotpEnrolment(deps.auth, alice);
    const aliceCodes = await confirmTotp(deps.auth, alice, y.id, totpAt({ base32: y.secret }, deps.clock.now()));
    expect(aliceCodes.recoveryCodes).toHaveLength(10);
    const session = await h
      .get()
      .db.selectFrom('sessions')
      .select(['aal', 'strong_auth_at', 'strong_auth_method', 'revoked_at'])
      .where('id', 'in', [alice.sessionId, attacker.sessionId])
      .orderBy('id')
      .execute();
    expect(session.find((s) => s.revoked_at === null)).toMatchObject({ aal: 2, strong_auth_method: 'totp' });
    expect(session.filter((s) => s.revoked_at !== null)).toHaveLength(1); // the attacker's session ended
    expect(
      deps.events
        .filter((e) => e.type === 'session.revoked')
        .flatMap((e) => (e.data as { sessionIds: string[] }).sessionIds),
    ).toContain(attacker.sessionId);
    // Even with a fresh step-up (were the session alive), the stale enrolment is gone.
    await expect(
      confirmTotp(deps.auth, stepped(attacker, deps.clock.now()), x.id, totpAt({ base32: x.secret }, deps.clock.now())),
    ).rejects.toMatchObject({ code: 'not_found' });
    // A second factor needs a step-up at confirmation too, and keeps the recovery codes.
    deps.clock.advance(11 * 60_000);
    const z = await startTotpEnrolment(deps.auth, stepped(alice, deps.clock.now()));
    await expect(
      confirmTotp(deps.auth, { ...alice, strongAuthAt: null }, z.id, totpAt({ base32: z.secret }, deps.clock.now())),
    ).rejects.toMatchObject({ code: 'step_up_required' });
    await expect(
      confirmTotp(deps.auth, stepped(alice, deps.clock.now()), z.id, totpAt({ base32: z.secret }, deps.clock.now())),
    ).resolves.toEqual({});
    expect((await listFactors(deps.auth, alice)).recoveryCodesLeft).toBe(10);
  });

  it('S5: a pending enrolment expires after 10 minutes', async () => {
    const { deps, alice } = await setup();
    const t = await startTotpEnrolment(deps.auth, alice);
    deps.clock.advance(10 * 60_000 + 1);
    await expect(
      confirmTotp(deps.auth, alice, t.id, totpAt({ base32: t.secret }, deps.clock.now())),
    ).rejects.toMatchObject({ code: 'not_found' });
    expect(await h.get().db.selectFrom('authenticators').select('id').where('id', '=', t.id).execute()).toEqual([]);
  });

  it('S5: removing a factor ends the other sessions (a bus event closes their sockets)', async () => {
    const { deps, alice } = await setup();
    const t = await startTotpEnrolment(deps.auth, alice);
    await confirmTotp(deps.auth, alice, t.id, totpAt({ base32: t.secret }, deps.clock.now()));
    deps.clock.advance(30_000);
    const ch = await login(deps.auth, { username: alice.username, password: PASS, device: device() }, '10.66.1.1');
    if (!('mfaRequired' in ch)) throw new Error('expected MFA');
    const other = await completeMfaLogin(
      deps.auth,
      { challenge: ch.challenge, code: totpAt({ base32: t.secret }, deps.clock.now()) },
      '10.66.1.1',
    );
    deps.events.length = 0;
    await removeFactor(deps.auth, stepped(alice, deps.clock.now()), t.id);
    await expect(authenticateToken(deps.auth, other.token)).rejects.toMatchObject({ code: 'session_invalid' });
    expect(deps.events.filter((e) => e.type === 'session.revoked')).toHaveLength(1);
    await expect(authenticateToken(deps.auth, other.token)).rejects.toMatchObject({ code: 'session_invalid' });
  });

  it('S16: an MFA challenge from the old password is refused after a password change, and one from before a factor reset after the reset', async () => {
    const { deps, alice } = await setup();
    const t = await startTotpEnrolment(deps.auth, alice);
    await confirmTotp(deps.auth, alice, t.id, totpAt({ base32: t.secret }, deps.clock.now()));
    const old = await login(deps.auth, { username: alice.username, password: PASS, device: device() }, '10.66.2.1');
    if (!('mfaRequired' in old)) throw new Error('expected MFA');
    await changePassword(deps.auth, stepped(alice, deps.clock.now()), PASS, 'tulip9orbit lantern', null);
    deps.clock.advance(30_000);
    await expect(
      completeMfaLogin(
        deps.auth,
        { challenge: old.challenge, code: totpAt({ base32: t.secret }, deps.clock.now()) },
        '10.66.2.1',
      ),
    ).rejects.toMatchObject({ code: 'code_invalid' });
    const before = await login(
      deps.auth,
      { username: alice.username, password: 'tulip9orbit lantern', device: device() },
      '10.66.2.1',
    );
    if (!('mfaRequired' in before)) throw new Error('expected MFA');
    await resetFactors(deps.auth, alice.userId, { requestedBy: 'sec1', approvedBy: 'sec2' });
    await expect(
      completeMfaLogin(
        deps.auth,
        { challenge: before.challenge, recoveryCode: 'AAAAA-AAAAA-AAAAA-AAAAA' },
        '10.66.2.1',
      ),
    ).rejects.toMatchObject({ code: 'code_invalid' });
    expect(
      await h
        .get()
        .db.selectFrom('login_challenges')
        .select('token_hash')
        .where('user_id', '=', alice.userId)
        .where('used_at', 'is', null)
        .execute(),
    ).toEqual([]);
  });

  it('S19: a device-bound passkey that starts syncing (BE/BS set at an assertion) loses AAL3 for good', async () => {
    const { deps, alice } = await setup();
    const { key } = await plantPasskey(deps, alice);
    const o = await startPasskeyLogin(deps.auth, '10.66.3.1');
    await expect(
      finishPasskeyLogin(deps.auth, o.challengeId, key.assert(o.options), device(), '10.66.3.1'),
    ).resolves.toMatchObject({ aal: 3 });
    key.opts.backupEligible = true;
    key.opts.backedUp = true;
    const o2 = await startPasskeyLogin(deps.auth, '10.66.3.1');
    await expect(
      finishPasskeyLogin(deps.auth, o2.challengeId, key.assert(o2.options), device(), '10.66.3.1'),
    ).resolves.toMatchObject({ aal: 2 });
    expect((await listFactors(deps.auth, alice)).factors[0]).toMatchObject({
      deviceBound: false,
      aal: 2,
      aalReason: 'became_synced',
    });
    key.opts.backupEligible = false;
    key.opts.backedUp = false;
    const o3 = await startPasskeyLogin(deps.auth, '10.66.3.1');
    await expect(
      finishPasskeyLogin(deps.auth, o3.challengeId, key.assert(o3.options), device(), '10.66.3.1'),
    ).resolves.toMatchObject({ aal: 2 });
    expect(await auditRecords(h.get().db, deps.auth.sealer, { action: 'factor.downgraded' })).toHaveLength(1);
  });

  it('S19: without an allowlist entry, the same authenticator registers at AAL2 and the record says why', async () => {
    const { deps, alice } = await setup();
    deps.auth.rp = { ...deps.auth.rp, attestation: undefined };
    const { reg } = await plantPasskey(deps, alice);
    expect(reg).toMatchObject({ deviceBound: false, aal: 2, aalReason: 'not_in_allowlist' }); // a real chain, but nobody trusts it
    const bare = await plantPasskey(deps, stepped(alice, deps.clock.now()), new SoftAuthenticator(ORIGIN, 'localhost'));
    expect(bare.reg).toMatchObject({ deviceBound: false, aal: 2, aalReason: 'attestation_none' });
    deps.auth.rp = {
      ...deps.auth.rp,
      attestation: attestationAllowlist([{ aaguid: '00000000-0000-4000-8000-000000000001', rootPems: [ca.rootPem] }]),
    };
    const other = await plantPasskey(deps, stepped(alice, deps.clock.now()));
    expect(other.reg).toMatchObject({ deviceBound: false, aal: 2, aalReason: 'not_in_allowlist' });
    const rows = await h
      .get()
      .db.selectFrom('passkeys')
      .select(['aal_reason', 'aaguid', 'device_bound'])
      .where('user_id', '=', alice.userId)
      .orderBy('created_at')
      .execute();
    expect(rows.map((r) => `${r.aal_reason} ${r.aaguid} ${Number(r.device_bound)}`).sort()).toEqual([
      `attestation_none ${SOFT_AAGUID} 0`,
      `not_in_allowlist ${SOFT_AAGUID} 0`,
      `not_in_allowlist ${SOFT_AAGUID} 0`,
    ]);
  });

  it('S20: passwordless options are rate-limited per address and carry no allowCredentials', async () => {
    const { deps } = await setup();
    const before = (await h.get().db.selectFrom('webauthn_challenges').select('id').execute()).length;
    let ok = 0;
    for (let i = 0; i < 100; i++) {
      try {
        const o = await startPasskeyLogin(deps.auth, '10.66.4.1');
        expect(o.options.allowCredentials).toBeUndefined();
        ok++;
      } catch (e) {
        expect(e).toMatchObject({ code: 'rate_limited' });
      }
    }
    expect(ok).toBe(20);
    expect((await h.get().db.selectFrom('webauthn_challenges').select('id').execute()).length - before).toBe(20);
    await expect(startPasskeyLogin(deps.auth, '10.66.4.2')).resolves.toBeDefined(); // another address has its own bucket
  });

  it('S20: purgeExpired removes expired challenge, login, SSO and pending-enrolment rows and keeps live ones', async () => {
    const { deps, alice } = await setup();
    const db = h.get().db;
    const t = await startTotpEnrolment(deps.auth, alice);
    await confirmTotp(deps.auth, alice, t.id, totpAt({ base32: t.secret }, deps.clock.now()));
    const pending = await startTotpEnrolment(deps.auth, stepped(alice, deps.clock.now()));
    await startPasskeyLogin(deps.auth, '10.66.5.1');
    await login(deps.auth, { username: alice.username, password: PASS, device: device() }, '10.66.5.1');
    const sso = {
      state_hash: 'h',
      secrets_sealed: 's',
      device_public_key: 'k',
      device_name: 'n',
      device_platform: 'p',
      user_id: null,
      aal: null,
      completed_at: null,
    };
    await db
      .insertInto('sso_logins')
      .values({
        ...sso,
        id: uniqueName('sso'),
        state_hash: uniqueName('st'),
        created_at: deps.clock.now(),
        expires_at: deps.clock.now() + 5 * 60_000,
      })
      .execute();
    const count = async () => ({
      w: (await db.selectFrom('webauthn_challenges').select('id').execute()).length,
      l: (await db.selectFrom('login_challenges').select('token_hash').execute()).length,
      s: (await db.selectFrom('sso_logins').select('id').execute()).length,
      p: (await db.selectFrom('authenticators').select('id').where('id', '=', pending.id).execute()).length,
    });
    const live = await count();
    expect(await purgeExpired(db, deps.clock.now())).toEqual({
      webauthnChallenges: 0,
      loginChallenges: 0,
      ssoLogins: 0,
      pendingEnrolments: 0,
      expiredBotDevices: 0,
    });
    // Later rows from another moment stay: a second SSO login that is still valid at the purge.
    deps.clock.advance(11 * 60_000);
    await db
      .insertInto('sso_logins')
      .values({
        ...sso,
        id: uniqueName('sso'),
        state_hash: uniqueName('st'),
        created_at: deps.clock.now(),
        expires_at: deps.clock.now() + 5 * 60_000,
      })
      .execute();
    const r = await purgeExpired(db, deps.clock.now());
    expect(r.webauthnChallenges).toBeGreaterThanOrEqual(1);
    expect(r.loginChallenges).toBeGreaterThanOrEqual(1);
    expect(r.ssoLogins).toBeGreaterThanOrEqual(1);
    expect(r.pendingEnrolments).toBeGreaterThanOrEqual(1);
    const after = await count();
    expect(after).toEqual({ w: 0, l: 0, s: 1, p: 0 });
    expect(live.p).toBe(1);
  });
});
