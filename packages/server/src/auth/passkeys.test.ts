import { expect, it } from 'vitest';
import { SoftAuthenticator } from '../test-support/soft-authenticator.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, newDevicePublicKey, PASS, uniqueName } from '../test-support/users.js';
import { authenticateToken, completeMfaLogin, finishPasskeyLogin, finishPasskeyRegistration, listFactors, login, startPasskeyLogin, startPasskeyRegistration } from './index.js';

const ORIGIN = 'https://localhost:8443';
const device = () => ({ publicKey: newDevicePublicKey(), name: 'laptop', platform: 'linux' });

withAllStores('passkeys (WebAuthn) with a software authenticator', (h) => {
  const enrolled = async (opts?: { userVerified: boolean; backupEligible: boolean }) => {
    const deps = testDeps(h.get());
    const [p] = await makeUsers(deps.auth, [uniqueName('pk')]);
    const auth = new SoftAuthenticator(ORIGIN, 'localhost', opts);
    const start = await startPasskeyRegistration(deps.auth, p!);
    expect(Buffer.from(start.options.challenge, 'base64url').length).toBeGreaterThanOrEqual(16); // >= 128 bits
    const reg = await finishPasskeyRegistration(deps.auth, p!, start.challengeId, auth.register(start.options), 'laptop key');
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
    const o = await startPasskeyLogin(deps.auth, p.username);
    const assertion = auth.assert(o.options);
    const s = await finishPasskeyLogin(deps.auth, o.challengeId, assertion, device(), '10.7.7.8');
    expect(s.aal).toBe(2);
    expect((await authenticateToken(deps.auth, s.token)).principal.userId).toBe(p.userId);
    await expect(finishPasskeyLogin(deps.auth, o.challengeId, assertion, device(), '10.7.7.8')).rejects.toMatchObject({ code: 'code_invalid' });
    const o2 = await startPasskeyLogin(deps.auth, p.username);
    await expect(finishPasskeyLogin(deps.auth, o2.challengeId, auth.assert(o2.options, 'https://phish.example'), device(), '10.7.7.8')).rejects.toMatchObject({ code: 'code_invalid' });
    // Discoverable login: no user name given.
    const o3 = await startPasskeyLogin(deps.auth);
    expect(o3.options.allowCredentials ?? []).toEqual([]);
    await expect(finishPasskeyLogin(deps.auth, o3.challengeId, auth.assert(o3.options), device(), '10.7.7.8')).resolves.toMatchObject({ aal: 2 });
  });

  it('refuses passwordless login without user verification but accepts it as a second factor', async () => {
    const { deps, p, auth } = await enrolled({ userVerified: false, backupEligible: true });
    const o = await startPasskeyLogin(deps.auth, p.username);
    await expect(finishPasskeyLogin(deps.auth, o.challengeId, auth.assert(o.options), device(), '10.7.7.9')).rejects.toMatchObject({ code: 'code_invalid' });
    const r = await login(deps.auth, { username: p.username, password: PASS, device: device() }, '10.7.7.9');
    if (!('mfaRequired' in r)) throw new Error('expected MFA');
    const s = await completeMfaLogin(deps.auth, { challenge: r.challenge, webauthn: auth.assert(r.webauthn as { challenge: string }) as never }, '10.7.7.9');
    expect(s.aal).toBe(2);
  });
});
