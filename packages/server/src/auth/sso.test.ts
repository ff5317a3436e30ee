import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ssoProofMessage } from '@palisade/protocol';
import { OidcRelyingParty } from '../crypto/index.js';
import { browseToCallback, startTestIdp } from '../test-support/oidc-idp.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { testDeps } from '../test-support/deps.js';
import { uniqueName } from '../test-support/users.js';
import { authenticateToken, completeSso, ssoCallback, startSso, type SsoDeps } from './index.js';

const REDIRECT = 'https://localhost:8443/v1/sso/callback';
let idp: Awaited<ReturnType<typeof startTestIdp>>;
beforeAll(async () => {
  idp = await startTestIdp(REDIRECT);
});
afterAll(async () => idp?.close());

const ssoDeps = (clientId = 'palisade'): SsoDeps => ({
  client: new OidcRelyingParty({ issuer: idp.issuer, clientId, clientSecret: `${clientId}-secret-0123456789abcdef`, redirectUri: REDIRECT, scopes: ['openid', 'email', 'profile'] }),
  issuer: idp.issuer, redirectUri: REDIRECT, roleClaim: 'groups', roleMapping: { 'sec-team': 'security_admin' }, requireMfa: true, mfaAcrValues: ['urn:palisade:mfa'],
});

function newDevice() {
  const k = generateKeyPairSync('ed25519');
  const publicKey = (k.publicKey.export({ format: 'jwk' }) as { x: string }).x;
  return { device: { publicKey, name: 'sso laptop', platform: 'linux' }, proof: (id: string) => sign(null, Buffer.from(ssoProofMessage(id)), k.privateKey).toString('base64url') };
}

withAllStores('single sign-on with a real OpenID Connect provider', (h) => {
  it('logs in with PKCE, state and nonce; provisions the user just in time with mapped roles; honours amr', async () => {
    const deps = await testDeps(h.get());
    deps.auth.sso = ssoDeps();
    const name = uniqueName('sso');
    idp.state.next = { sub: `sub-${name}`, claims: { preferred_username: name, email: `${name}@corp.example`, groups: ['sec-team', 'other'] }, amr: ['pwd', 'otp'] };
    const d = newDevice();
    const start = await startSso(deps.auth, d.device, '10.3.3.3');
    const authUrl = new URL(start.authorizationUrl);
    expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authUrl.searchParams.get('nonce')).toBeTruthy();
    expect(await completeSso(deps.auth, start.ssoId, d.proof(start.ssoId), '10.3.3.3')).toBeUndefined(); // not signed in at the IdP yet
    const callback = await browseToCallback(start.authorizationUrl, REDIRECT);
    await ssoCallback(deps.auth, callback, '10.3.3.3');
    await expect(ssoCallback(deps.auth, callback, '10.3.3.3')).rejects.toMatchObject({ code: 'code_invalid' }); // replayed callback
    const thief = newDevice();
    await expect(completeSso(deps.auth, start.ssoId, thief.proof(start.ssoId), '10.3.3.3')).rejects.toMatchObject({ code: 'device_proof_failed' });
    const grant = await completeSso(deps.auth, start.ssoId, d.proof(start.ssoId), '10.3.3.3');
    expect(grant?.aal).toBe(2);
    const p = (await authenticateToken(deps.auth, grant!.token)).principal;
    expect(p.username).toBe(name);
    expect(p.roles).toEqual(expect.arrayContaining(['member', 'security_admin']));
    await expect(completeSso(deps.auth, start.ssoId, d.proof(start.ssoId), '10.3.3.3')).rejects.toMatchObject({ code: 'code_invalid' });

    // A second sign-on links to the same account.
    const again = await startSso(deps.auth, d.device, '10.3.3.3');
    await ssoCallback(deps.auth, await browseToCallback(again.authorizationUrl, REDIRECT), '10.3.3.3');
    const g2 = await completeSso(deps.auth, again.ssoId, d.proof(again.ssoId), '10.3.3.3');
    expect((await authenticateToken(deps.auth, g2!.token)).principal.userId).toBe(p.userId);
  });

  it('refuses a login whose IdP did not assert MFA', async () => {
    const deps = await testDeps(h.get());
    deps.auth.sso = ssoDeps();
    idp.state.next = { sub: `sub-${uniqueName('nomfa')}`, claims: { preferred_username: uniqueName('nomfa') }, amr: ['pwd'], acr: 'urn:palisade:pwd' };
    const start = await startSso(deps.auth, newDevice().device, '10.3.3.4');
    await expect(ssoCallback(deps.auth, await browseToCallback(start.authorizationUrl, REDIRECT), '10.3.3.4')).rejects.toMatchObject({ code: 'sso_mfa_required' });
  });

  it('refuses a wrong nonce and a code issued to another client (audience)', async () => {
    const deps = await testDeps(h.get());
    deps.auth.sso = ssoDeps();
    idp.state.next = { sub: `sub-${uniqueName('n')}`, claims: { preferred_username: uniqueName('n') }, acr: 'urn:palisade:mfa' };
    const start = await startSso(deps.auth, newDevice().device, '10.3.3.5');
    const callback = await browseToCallback(start.authorizationUrl, REDIRECT);
    // Swap the stored nonce: the ID token's nonce no longer matches.
    const row = await h.get().db.selectFrom('sso_logins').selectAll().where('id', '=', start.ssoId).executeTakeFirstOrThrow();
    const aad = `sso_logins.secrets_sealed:${start.ssoId}`;
    const secrets = JSON.parse(Buffer.from(await deps.auth.sealer.unseal(row.secrets_sealed, aad)).toString()) as Record<string, string>;
    await h.get().db.updateTable('sso_logins').set({ secrets_sealed: await deps.auth.sealer.seal(Buffer.from(JSON.stringify({ ...secrets, nonce: 'forged-nonce' })), aad) }).where('id', '=', start.ssoId).execute();
    await expect(ssoCallback(deps.auth, callback, '10.3.3.5')).rejects.toMatchObject({ code: 'auth_failed' });

    // A flow run for another client at the same IdP: its code cannot be redeemed as Palisade's.
    const other = ssoDeps('other-app');
    const { url } = await other.client.start();
    const foreign = await browseToCallback(url, REDIRECT);
    const mine = await startSso(deps.auth, newDevice().device, '10.3.3.5');
    const forged = new URL(foreign.href);
    forged.searchParams.set('state', new URL(mine.authorizationUrl).searchParams.get('state') as string);
    await expect(ssoCallback(deps.auth, forged, '10.3.3.5')).rejects.toMatchObject({ code: 'auth_failed' });
  });
});
