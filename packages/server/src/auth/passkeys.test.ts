import { expect, it } from 'vitest';
import { SOFT_AAGUID, SoftAuthenticator } from '../test-support/soft-authenticator.js';
import { makeAttestationCa } from '../test-support/attestation-ca.js';
import { attestationAllowlist } from '../crypto/index.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, newDevicePublicKey, PASS, uniqueName } from '../test-support/users.js';
import {
  assertRecentStrongAuth,
  authenticateToken,
  completeMfaLogin,
  finishPasskeyLogin,
  finishPasskeyRegistration,
  finishPasskeyStepUp,
  listFactors,
  login,
  startPasskeyLogin,
  startPasskeyRegistration,
  startPasskeyStepUp,
} from './index.js';

const ORIGIN = 'https://localhost:8443';
const ca = await makeAttestationCa(SOFT_AAGUID);
/** Test deps whose relying party trusts the test CA's authenticators for AAL3. */
const attestedDeps = async (store: Parameters<typeof testDeps>[0]) => {
  const deps = await testDeps(store);
  deps.auth.rp = {
    ...deps.auth.rp,
    attestation: attestationAllowlist([{ aaguid: SOFT_AAGUID, rootPems: [ca.rootPem] }]),
  };
  return deps;
};
const attested = { userVerified: true, backupEligible: false, attestation: { fmt: 'packed' as const, ca } };
const device = () => ({ publicKey: newDevicePublicKey(), name: 'laptop', platform: 'linux' });

withAllStores('passkeys (WebAuthn) with a software authenticator', (h) => {
  const enrolled = async (opts: ConstructorParameters<typeof SoftAuthenticator>[2] = attested) => {
    const deps = await attestedDeps(h.get());
    const [p] = await makeUsers(deps.auth, [uniqueName('pk')]);
    const auth = new SoftAuthenticator(ORIGIN, 'localhost', opts);
    const start = await startPasskeyRegistration(deps.auth, p!);
    expect(Buffer.from(start.options.challenge, 'base64url').length).toBeGreaterThanOrEqual(16); // >= 128 bits
    const reg = await finishPasskeyRegistration(
      deps.auth,
      p!,
      start.challengeId,
      auth.register(start.options),
      'laptop key',
    );
    return { deps, p: p!, auth, reg };
  };

  it('registers a device-bound passkey as the first factor, with recovery codes', async () => {
    const { deps, p, reg } = await enrolled();
    expect(reg.deviceBound).toBe(true);
    expect(reg.recoveryCodes).toHaveLength(10);
    const r = await login(deps.auth, { username: p.username, password: PASS, device: device() }, '10.7.7.7');
    expect(r).toMatchObject({ mfaRequired: true, methods: ['passkey', 'totp', 'recovery_code'] });
    expect((await listFactors(deps.auth, p)).recoveryCodesLeft).toBe(10);
  });

  it('logs in without a password; the challenge is single-use; origin and user verification are checked', async () => {
    const { deps, p, auth } = await enrolled();
    const o = await startPasskeyLogin(deps.auth, '10.7.7.8');
    const assertion = auth.assert(o.options);
    const s = await finishPasskeyLogin(deps.auth, o.challengeId, assertion, device(), '10.7.7.8');
    expect(s.aal).toBe(3); // device-bound with user verification
    expect((await authenticateToken(deps.auth, s.token)).principal.userId).toBe(p.userId);
    await expect(finishPasskeyLogin(deps.auth, o.challengeId, assertion, device(), '10.7.7.8')).rejects.toMatchObject({
      code: 'code_invalid',
    });
    const o2 = await startPasskeyLogin(deps.auth, '10.7.7.8');
    await expect(
      finishPasskeyLogin(
        deps.auth,
        o2.challengeId,
        auth.assert(o2.options, 'https://phish.example'),
        device(),
        '10.7.7.8',
      ),
    ).rejects.toMatchObject({ code: 'code_invalid' });
    // Discoverable login: no user name given.
    const o3 = await startPasskeyLogin(deps.auth, '10.7.7.8');
    expect(o3.options.allowCredentials).toBeUndefined();
    await expect(
      finishPasskeyLogin(deps.auth, o3.challengeId, auth.assert(o3.options), device(), '10.7.7.8'),
    ).resolves.toMatchObject({ aal: 3 });
  });

  it('refuses passwordless login without user verification but accepts it as a second factor', async () => {
    const { deps, p, auth } = await enrolled({ userVerified: false, backupEligible: true });
    const o = await startPasskeyLogin(deps.auth, '10.7.7.9');
    await expect(
      finishPasskeyLogin(deps.auth, o.challengeId, auth.assert(o.options), device(), '10.7.7.9'),
    ).rejects.toMatchObject({ code: 'code_invalid' });
    const r = await login(deps.auth, { username: p.username, password: PASS, device: device() }, '10.7.7.9');
    if (!('mfaRequired' in r)) throw new Error('expected MFA');
    const s = await completeMfaLogin(
      deps.auth,
      { challenge: r.challenge, webauthn: auth.assert(r.webauthn as { challenge: string }) },
      '10.7.7.9',
    );
    expect(s.aal).toBe(2);
  });
});

withAllStores('AAL3: device-bound passkeys', (h) => {
  it('gives a device-bound passkey login AAL3 with a 15-minute idle and 12-hour absolute limit', async () => {
    const deps = await attestedDeps(h.get());
    const [p] = await makeUsers(deps.auth, [uniqueName('a3')]);
    const auth = new SoftAuthenticator(ORIGIN, 'localhost', attested);
    const start = await startPasskeyRegistration(deps.auth, p!);
    await finishPasskeyRegistration(deps.auth, p!, start.challengeId, auth.register(start.options), 'key');
    const o = await startPasskeyLogin(deps.auth, '10.8.8.8');
    const s = await finishPasskeyLogin(deps.auth, o.challengeId, auth.assert(o.options), device(), '10.8.8.8');
    expect(s.aal).toBe(3);
    expect(Date.parse(s.expiresAt) - deps.clock.now()).toBe(12 * 3_600_000);
    deps.clock.advance(14 * 60_000);
    await authenticateToken(deps.auth, s.token);
    deps.clock.advance(15 * 60_000);
    await expect(authenticateToken(deps.auth, s.token)).rejects.toMatchObject({ code: 'session_invalid' });
  });

  it('with the AAL3 policy on, admins step up only with a device-bound passkey', async () => {
    const deps = await attestedDeps(h.get());
    deps.auth.policy.adminsRequirePhishingResistant = true;
    const [admin] = await makeUsers(deps.auth, [uniqueName('ad')], ['org_admin', 'security_admin']);
    const bound = new SoftAuthenticator(ORIGIN, 'localhost', attested);
    const start = await startPasskeyRegistration(deps.auth, admin!);
    await finishPasskeyRegistration(
      deps.auth,
      admin!,
      start.challengeId,
      bound.register(start.options),
      'security key',
    );
    const viaCode = { ...admin!, strongAuthAt: deps.clock.now(), strongAuthMethod: 'totp' };
    expect(() => assertRecentStrongAuth(deps.auth, viaCode)).toThrow(/device-bound passkey/);
    const r = await login(deps.auth, { username: admin!.username, password: PASS, device: device() }, '10.8.8.9');
    if (!('mfaRequired' in r)) throw new Error('expected MFA');
    const s = await completeMfaLogin(
      deps.auth,
      { challenge: r.challenge, webauthn: bound.assert(r.webauthn as { challenge: string }) },
      '10.8.8.9',
    );
    const session = (await authenticateToken(deps.auth, s.token, '10.8.8.9')).principal;
    expect(session.strongAuthMethod).toBe('passkey');
    expect(() => assertRecentStrongAuth(deps.auth, session)).toThrow(/device-bound passkey/); // a second factor after a password is not AAL3
    const su = await startPasskeyStepUp(deps.auth, session);
    await expect(
      finishPasskeyStepUp(deps.auth, session, su.challengeId, bound.assert(su.options), '10.8.8.9'),
    ).resolves.toEqual({ aal: 3 });
    const after = (await authenticateToken(deps.auth, s.token, '10.8.8.9')).principal;
    expect(() => assertRecentStrongAuth(deps.auth, after)).not.toThrow();
    const member = { ...after, roles: ['member'], strongAuthMethod: 'totp' };
    expect(() => assertRecentStrongAuth(deps.auth, member)).not.toThrow(); // members are not held to AAL3
  });
});
