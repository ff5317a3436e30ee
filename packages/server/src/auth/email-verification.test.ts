import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ssoProofMessage } from '@palisade/protocol';
import { OidcRelyingParty } from '../crypto/index.js';
import { startTestIdp } from '../test-support/oidc-idp.js';
import { finishSsoInBrowser } from '../test-support/sso-browser.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, uniqueName } from '../test-support/users.js';
import {
  authenticateToken,
  completeSso,
  getProfile,
  listUsers,
  startSso,
  updateProfile,
  verifyEmail,
  type AuthDeps,
} from './index.js';

const REDIRECT = 'https://localhost:8443/v1/sso/callback';
let idp: Awaited<ReturnType<typeof startTestIdp>>;
beforeAll(async () => {
  idp = await startTestIdp(REDIRECT);
});
afterAll(async () => idp?.close());

/** Signs in through the test IdP with the given e-mail claims; returns the principal. */
async function ssoSignIn(deps: AuthDeps, name: string, claims: Record<string, unknown>) {
  deps.sso = {
    client: new OidcRelyingParty({
      issuer: idp.issuer,
      clientId: 'palisade',
      clientSecret: 'palisade-secret-0123456789abcdef',
      redirectUri: REDIRECT,
      scopes: ['openid', 'email', 'profile'],
    }),
    issuer: idp.issuer,
    redirectUri: REDIRECT,
    roleClaim: 'groups',
    roleMapping: {},
    requireMfa: true,
    mfaAcrValues: [],
  };
  idp.state.next = { sub: `sub-${name}`, claims: { preferred_username: name, ...claims }, amr: ['pwd', 'otp'] };
  const k = generateKeyPairSync('ed25519');
  const device = {
    publicKey: (k.publicKey.export({ format: 'jwk' }) as { x: string }).x,
    name: 'sso',
    platform: 'linux',
  };
  const start = await startSso(deps, device, '10.3.3.3');
  await finishSsoInBrowser(deps, start, '10.3.3.3', REDIRECT);
  const grant = await completeSso(
    deps,
    start.ssoId,
    sign(null, Buffer.from(ssoProofMessage(start.ssoId)), k.privateKey).toString('base64url'),
    '10.3.3.3',
  );
  return (await authenticateToken(deps, grant!.token)).principal;
}

withAllStores('S14: e-mail verification', (h) => {
  it("S14: an unverified claim blocks nobody and is not searchable; an admin's verification makes it unique", async () => {
    const deps = await testDeps(h.get());
    const [admin, squatter, owner] = await makeUsers(
      deps.auth,
      [uniqueName('adm'), uniqueName('sq'), uniqueName('ow')],
      ['org_admin'],
    );
    const email = `${uniqueName('boss')}@corp.example`;
    await updateProfile(deps.auth, squatter!, { email });
    await updateProfile(deps.auth, owner!, { email: email.toUpperCase() }); // was email_taken
    expect(await listUsers(deps.auth, { email })).toEqual([]);
    expect(await getProfile(deps.auth, owner!)).toMatchObject({ email, emailVerified: false });
    await verifyEmail(deps.auth, admin!, owner!.userId, null);
    expect((await listUsers(deps.auth, { email })).map((u) => [u.id, u.emailVerified])).toEqual([
      [owner!.userId, true],
    ]);
    await expect(verifyEmail(deps.auth, admin!, squatter!.userId, null)).rejects.toMatchObject({ code: 'email_taken' });
    await expect(updateProfile(deps.auth, squatter!, { email })).rejects.toMatchObject({ code: 'email_taken' });
    // Changing the address starts a new, unverified claim and frees the old one.
    await updateProfile(deps.auth, owner!, { email: `other-${email}` });
    expect(await getProfile(deps.auth, owner!)).toMatchObject({ emailVerified: false });
    await verifyEmail(deps.auth, admin!, squatter!.userId, null);
    expect((await listUsers(deps.auth, { email })).map((u) => u.id)).toEqual([squatter!.userId]);
  });

  it('S14: an IdP sign-in verifies the address only when the IdP says email_verified, and never takes a verified one', async () => {
    const deps = await testDeps(h.get());
    const [admin, holder] = await makeUsers(deps.auth, [uniqueName('adm'), uniqueName('ho')], ['org_admin']);
    const verified = await ssoSignIn(deps.auth, uniqueName('v'), { email: 'Vera@Corp.Example', email_verified: true });
    expect(await getProfile(deps.auth, verified)).toMatchObject({ email: 'vera@corp.example', emailVerified: true });
    expect((await listUsers(deps.auth, { email: 'vera@corp.example' })).map((u) => u.id)).toEqual([verified.userId]);
    const unverified = await ssoSignIn(deps.auth, uniqueName('u'), {
      email: 'ursula@corp.example',
      email_verified: false,
    });
    expect(await getProfile(deps.auth, unverified)).toMatchObject({ email: null, emailVerified: false });
    // An address another account holds verified is not taken over by an IdP claim.
    await updateProfile(deps.auth, holder!, { email: 'hold@corp.example' });
    await verifyEmail(deps.auth, admin!, holder!.userId, null);
    const rival = await ssoSignIn(deps.auth, uniqueName('r'), { email: 'hold@corp.example', email_verified: true });
    expect(await getProfile(deps.auth, rival)).toMatchObject({ emailVerified: false });
    expect((await listUsers(deps.auth, { email: 'hold@corp.example' })).map((u) => u.id)).toEqual([holder!.userId]);
  });
});
