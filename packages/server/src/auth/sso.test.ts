import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ssoProofMessage } from '@palisade/protocol';
import { OidcRelyingParty, sha256Hex } from '../crypto/index.js';
import { browseToCallback, startTestIdp, TestBrowser } from '../test-support/oidc-idp.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { openSsoLink, ssoBrowserLeg } from '../test-support/sso-browser.js';
import { testDeps } from '../test-support/deps.js';
import { uniqueName } from '../test-support/users.js';
import type { AuthDeps } from './deps.js';
import { authenticateToken, beginSso, completeSso, ssoCallback, startSso, type SsoDeps } from './index.js';

const REDIRECT = 'https://localhost:8443/v1/sso/callback';
let idp: Awaited<ReturnType<typeof startTestIdp>>;
beforeAll(async () => {
  idp = await startTestIdp(REDIRECT);
});
afterAll(async () => idp?.close());

const ssoDeps = (clientId = 'palisade'): SsoDeps => ({
  client: new OidcRelyingParty({
    issuer: idp.issuer,
    clientId,
    clientSecret: `${clientId}-secret-0123456789abcdef`,
    redirectUri: REDIRECT,
    scopes: ['openid', 'email', 'profile'],
  }),
  issuer: idp.issuer,
  redirectUri: REDIRECT,
  roleClaim: 'groups',
  roleMapping: { 'sec-team': 'security_admin' },
  requireMfa: true,
  mfaAcrValues: ['urn:palisade:mfa'],
});

const openLink = openSsoLink;
const browserLeg = (deps: AuthDeps, start: { ssoId: string; beginSecret: string }, address: string) =>
  ssoBrowserLeg(deps, start, address, REDIRECT);

function newDevice() {
  const k = generateKeyPairSync('ed25519');
  const publicKey = (k.publicKey.export({ format: 'jwk' }) as { x: string }).x;
  return {
    device: { publicKey, name: 'sso laptop', platform: 'linux' },
    proof: (id: string) => sign(null, Buffer.from(ssoProofMessage(id)), k.privateKey).toString('base64url'),
  };
}

withAllStores('single sign-on with a real OpenID Connect provider', (h) => {
  it('logs in with PKCE, state and nonce; provisions the user just in time with mapped roles; honours amr', async () => {
    const deps = await testDeps(h.get());
    deps.auth.sso = ssoDeps();
    const name = uniqueName('sso');
    idp.state.next = {
      sub: `sub-${name}`,
      claims: { preferred_username: name, email: `${name}@corp.example`, groups: ['sec-team', 'other'] },
      amr: ['pwd', 'otp'],
    };
    const d = newDevice();
    const start = await startSso(deps.auth, d.device, '10.3.3.3');
    const link = await openLink(deps.auth, start, '10.3.3.3');
    const authUrl = new URL(link.authorizationUrl);
    expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authUrl.searchParams.get('nonce')).toBeTruthy();
    expect(await completeSso(deps.auth, start.ssoId, d.proof(start.ssoId), '10.3.3.3')).toBeUndefined(); // not signed in at the IdP yet
    const callback = await browseToCallback(link.authorizationUrl, REDIRECT);
    expect(await ssoCallback(deps.auth, callback, link.cookies, '10.3.3.3')).toEqual({
      device: { name: 'sso laptop', platform: 'linux' },
    });
    await expect(ssoCallback(deps.auth, callback, link.cookies, '10.3.3.3')).rejects.toMatchObject({
      code: 'code_invalid',
    }); // replayed callback
    const thief = newDevice();
    await expect(completeSso(deps.auth, start.ssoId, thief.proof(start.ssoId), '10.3.3.3')).rejects.toMatchObject({
      code: 'device_proof_failed',
    });
    const grant = await completeSso(deps.auth, start.ssoId, d.proof(start.ssoId), '10.3.3.3');
    expect(grant?.aal).toBe(2);
    const p = (await authenticateToken(deps.auth, grant!.token)).principal;
    expect(p.username).toBe(name);
    expect(p.roles).toEqual(expect.arrayContaining(['member', 'security_admin']));
    await expect(completeSso(deps.auth, start.ssoId, d.proof(start.ssoId), '10.3.3.3')).rejects.toMatchObject({
      code: 'code_invalid',
    });

    // A second sign-on links to the same account.
    const again = await startSso(deps.auth, d.device, '10.3.3.3');
    const leg = await browserLeg(deps.auth, again, '10.3.3.3');
    await ssoCallback(deps.auth, leg.callback, leg.cookies, '10.3.3.3');
    const g2 = await completeSso(deps.auth, again.ssoId, d.proof(again.ssoId), '10.3.3.3');
    expect((await authenticateToken(deps.auth, g2!.token)).principal.userId).toBe(p.userId);
  });

  it('refuses a login whose IdP did not assert MFA', async () => {
    const deps = await testDeps(h.get());
    deps.auth.sso = ssoDeps();
    idp.state.next = {
      sub: `sub-${uniqueName('nomfa')}`,
      claims: { preferred_username: uniqueName('nomfa') },
      amr: ['pwd'],
      acr: 'urn:palisade:pwd',
    };
    const start = await startSso(deps.auth, newDevice().device, '10.3.3.4');
    const leg = await browserLeg(deps.auth, start, '10.3.3.4');
    await expect(ssoCallback(deps.auth, leg.callback, leg.cookies, '10.3.3.4')).rejects.toMatchObject({
      code: 'sso_mfa_required',
    });
  });

  it('refuses a wrong nonce and a code issued to another client (audience)', async () => {
    const deps = await testDeps(h.get());
    deps.auth.sso = ssoDeps();
    idp.state.next = {
      sub: `sub-${uniqueName('n')}`,
      claims: { preferred_username: uniqueName('n') },
      acr: 'urn:palisade:mfa',
    };
    const start = await startSso(deps.auth, newDevice().device, '10.3.3.5');
    const { callback, cookies } = await browserLeg(deps.auth, start, '10.3.3.5');
    // Swap the stored nonce: the ID token's nonce no longer matches.
    const row = await h
      .get()
      .db.selectFrom('sso_logins')
      .selectAll()
      .where('id', '=', start.ssoId)
      .executeTakeFirstOrThrow();
    const aad = `sso_logins.secrets_sealed:${start.ssoId}`;
    const secrets = JSON.parse(
      Buffer.from(await deps.auth.sealer.unseal(row.secrets_sealed, aad)).toString(),
    ) as Record<string, string>;
    await h
      .get()
      .db.updateTable('sso_logins')
      .set({
        secrets_sealed: await deps.auth.sealer.seal(
          Buffer.from(JSON.stringify({ ...secrets, nonce: 'forged-nonce' })),
          aad,
        ),
      })
      .where('id', '=', start.ssoId)
      .execute();
    await expect(ssoCallback(deps.auth, callback, cookies, '10.3.3.5')).rejects.toMatchObject({ code: 'auth_failed' });

    // A flow run for another client at the same IdP: its code cannot be redeemed as Palisade's.
    const other = ssoDeps('other-app');
    const { url } = await other.client.start();
    const foreign = await browseToCallback(url, REDIRECT);
    const mine = await startSso(deps.auth, newDevice().device, '10.3.3.5');
    const mineLink = await openLink(deps.auth, mine, '10.3.3.5');
    const forged = new URL(foreign.href);
    forged.searchParams.set('state', new URL(mineLink.authorizationUrl).searchParams.get('state') as string);
    await expect(ssoCallback(deps.auth, forged, mineLink.cookies, '10.3.3.5')).rejects.toMatchObject({
      code: 'auth_failed',
    });
  });

  it("S1: an IdP link forwarded to another browser signs nobody in, and the device's browser link works once and briefly", async () => {
    const deps = await testDeps(h.get());
    deps.auth.sso = ssoDeps();
    const victim = uniqueName('victor');
    idp.state.next = {
      sub: `sub-${victim}`,
      claims: { preferred_username: victim, groups: ['sec-team'] },
      amr: ['pwd', 'otp'],
    };
    // The attacker starts on his device and opens the link in his own browser to learn the IdP URL ...
    const attacker = newDevice();
    const start = await startSso(deps.auth, attacker.device, '10.9.9.9');
    const attackerLink = await openLink(deps.auth, start, '10.9.9.9');
    await expect(beginSso(deps.auth, start.ssoId, start.beginSecret, '10.9.9.9')).rejects.toMatchObject({
      code: 'code_invalid',
    }); // once only
    // ... and sends it to the victim, who signs in at her IdP in her own browser (no cookie of his).
    const victimBrowser = new TestBrowser();
    const callback = await browseToCallback(attackerLink.authorizationUrl, REDIRECT, victimBrowser);
    await expect(ssoCallback(deps.auth, callback, {}, '10.1.1.1')).rejects.toMatchObject({
      code: 'sso_browser_mismatch',
    });
    await expect(
      ssoCallback(deps.auth, callback, { [Object.keys(attackerLink.cookies)[0]!]: 'guessed' }, '10.1.1.1'),
    ).rejects.toMatchObject({ code: 'code_invalid' });
    await expect(completeSso(deps.auth, start.ssoId, attacker.proof(start.ssoId), '10.9.9.9')).rejects.toMatchObject({
      code: 'code_invalid',
    });
    expect(
      await h.get().db.selectFrom('users').select('id').where('username', '=', victim).executeTakeFirst(),
    ).toBeUndefined(); // the code was never redeemed
    // A browser link opened after three minutes is refused.
    const late = await startSso(deps.auth, attacker.device, '10.9.9.9');
    deps.clock.advance(3 * 60_000 + 1);
    await expect(beginSso(deps.auth, late.ssoId, late.beginSecret, '10.9.9.9')).rejects.toMatchObject({
      code: 'code_invalid',
    });
    // A wrong secret is refused. (The last character changes for sure: a 32-byte secret ends in 'A' one time in 16.)
    const wrong = await startSso(deps.auth, attacker.device, '10.9.9.9');
    const wrongSecret = `${wrong.beginSecret.slice(0, -1)}${wrong.beginSecret.endsWith('A') ? 'B' : 'A'}`;
    await expect(beginSso(deps.auth, wrong.ssoId, wrongSecret, '10.9.9.9')).rejects.toMatchObject({
      code: 'code_invalid',
    });
  });

  it('S11: roles mapped from IdP groups are withdrawn when the groups no longer map to them; manual grants survive', async () => {
    const deps = await testDeps(h.get());
    deps.auth.sso = { ...ssoDeps(), roleMapping: { 'chat-security': 'security_admin', 'chat-mods': 'moderator' } };
    const name = uniqueName('victor');
    const d = newDevice();
    const signIn = async (groups: string[]) => {
      idp.state.next = { sub: `sub-${name}`, claims: { preferred_username: name, groups }, amr: ['pwd', 'otp'] };
      const start = await startSso(deps.auth, d.device, '10.3.3.6');
      const leg = await browserLeg(deps.auth, start, '10.3.3.6');
      await ssoCallback(deps.auth, leg.callback, leg.cookies, '10.3.3.6');
      const grant = await completeSso(deps.auth, start.ssoId, d.proof(start.ssoId), '10.3.3.6');
      return (await authenticateToken(deps.auth, grant!.token)).principal;
    };
    const first = await signIn(['chat-security', 'chat-mods']);
    expect(first.roles).toEqual(expect.arrayContaining(['security_admin', 'moderator']));
    // An administrator grants auditor by hand (a grant whose source is a person, not the IdP).
    await h
      .get()
      .db.insertInto('role_grants')
      .values({
        id: `manual-${name}`,
        user_id: first.userId,
        role: 'auditor',
        kind: 'standing',
        reason: 'x',
        requested_by: 'some-admin',
        approved_by: 'some-admin',
        approved_at: 1,
        created_at: 1,
        expires_at: null,
        revoked_at: null,
      })
      .execute();
    const second = await signIn(['chat-mods']);
    expect(second.userId).toBe(first.userId);
    expect(second.roles).not.toContain('security_admin');
    expect(second.roles).toEqual(expect.arrayContaining(['moderator', 'auditor']));
    const third = await signIn([]);
    expect(third.roles).not.toContain('moderator');
    expect(third.roles).toContain('auditor'); // the manual grant is never touched
    const revoked = await h
      .get()
      .db.selectFrom('audit_log')
      .select('target')
      .where('action', '=', 'role.revoked')
      .where('target', 'like', `${first.userId}/%`)
      .execute();
    expect(revoked.map((r) => r.target).sort()).toEqual([
      `${first.userId}/moderator`,
      `${first.userId}/security_admin`,
    ]);
  });

  it("S1: the device's browser link opened from another network is refused (unless the operator allows it)", async () => {
    const deps = await testDeps(h.get());
    deps.auth.sso = ssoDeps();
    const attacker = newDevice();
    const start = await startSso(deps.auth, attacker.device, '203.0.113.7');
    // The attacker forwards the link itself; the victim opens it from her network.
    await expect(beginSso(deps.auth, start.ssoId, start.beginSecret, '10.1.1.1')).rejects.toMatchObject({
      code: 'sso_browser_mismatch',
    });
    await expect(beginSso(deps.auth, start.ssoId, start.beginSecret, '203.0.113.7')).rejects.toMatchObject({
      code: 'code_invalid',
    }); // burnt
    deps.auth.sso = { ...ssoDeps(), requireSameNetwork: false };
    const remote = await startSso(deps.auth, attacker.device, '203.0.113.7');
    await expect(beginSso(deps.auth, remote.ssoId, remote.beginSecret, '10.1.1.1')).resolves.toMatchObject({
      authorizationUrl: expect.stringContaining(idp.issuer),
    });
  });

  it('S1: a loopback sign-on is collected only with the completion secret sent to the loopback redirect, once and soon; a wrong secret burns it', async () => {
    const deps = await testDeps(h.get());
    deps.auth.sso = ssoDeps();
    const name = uniqueName('lb');
    idp.state.next = { sub: `sub-${name}`, claims: { preferred_username: name }, amr: ['pwd', 'otp'] };
    const d = newDevice();
    const start = await startSso(deps.auth, d.device, '203.0.113.7', { port: 49152 });
    await expect(completeSso(deps.auth, start.ssoId, d.proof(start.ssoId), '203.0.113.7')).rejects.toMatchObject({
      code: 'sso_completion_required',
    });
    // Loopback mode does not need the same network: the secret is bound to the browser's machine.
    const leg = await browserLeg(deps.auth, start, '10.1.1.1');
    const r = await ssoCallback(deps.auth, leg.callback, leg.cookies, '10.1.1.1');
    const redirect = new URL(r.redirect as string);
    expect(`${redirect.origin}${redirect.pathname}`).toBe('http://127.0.0.1:49152/palisade-sso');
    expect(redirect.searchParams.get('ssoId')).toBe(start.ssoId);
    const secret = redirect.searchParams.get('c') as string;
    const row = await h
      .get()
      .db.selectFrom('sso_logins')
      .selectAll()
      .where('id', '=', start.ssoId)
      .executeTakeFirstOrThrow();
    expect(row.completion_hash).toBe(sha256Hex(secret)); // only the hash is stored
    expect(JSON.stringify(row)).not.toContain(secret);
    await expect(completeSso(deps.auth, start.ssoId, d.proof(start.ssoId), '203.0.113.7')).rejects.toMatchObject({
      code: 'sso_completion_required',
    });
    const thief = newDevice();
    await expect(
      completeSso(deps.auth, start.ssoId, thief.proof(start.ssoId), '203.0.113.7', secret),
    ).rejects.toMatchObject({ code: 'device_proof_failed' });
    const grant = await completeSso(deps.auth, start.ssoId, d.proof(start.ssoId), '203.0.113.7', secret);
    expect((await authenticateToken(deps.auth, grant!.token)).principal.username).toBe(name);
    await expect(
      completeSso(deps.auth, start.ssoId, d.proof(start.ssoId), '203.0.113.7', secret),
    ).rejects.toMatchObject({ code: 'code_invalid' }); // single use

    // A wrong secret burns the sign-on; the right one then fails too.
    const second = await startSso(deps.auth, d.device, '10.3.3.7', { port: 49153, host: '::1' });
    const leg2 = await browserLeg(deps.auth, second, '10.3.3.7');
    const r2 = new URL((await ssoCallback(deps.auth, leg2.callback, leg2.cookies, '10.3.3.7')).redirect as string);
    expect(r2.host).toBe('[::1]:49153');
    await expect(
      completeSso(
        deps.auth,
        second.ssoId,
        d.proof(second.ssoId),
        '10.3.3.7',
        `${r2.searchParams.get('c')!.slice(0, -2)}xx`,
      ),
    ).rejects.toMatchObject({ code: 'code_invalid' });
    await expect(
      completeSso(deps.auth, second.ssoId, d.proof(second.ssoId), '10.3.3.7', r2.searchParams.get('c')!),
    ).rejects.toMatchObject({ code: 'code_invalid' });

    // The secret must be collected within two minutes of the callback.
    const third = await startSso(deps.auth, d.device, '10.3.3.7', { port: 49154 });
    const leg3 = await browserLeg(deps.auth, third, '10.3.3.7');
    const r3 = new URL((await ssoCallback(deps.auth, leg3.callback, leg3.cookies, '10.3.3.7')).redirect as string);
    deps.clock.advance(2 * 60_000 + 1);
    await expect(
      completeSso(deps.auth, third.ssoId, d.proof(third.ssoId), '10.3.3.7', r3.searchParams.get('c')!),
    ).rejects.toMatchObject({ code: 'code_invalid' });
  });

  it('S1: loopbackRequired refuses a start without loopback; a loopback that is not a loopback literal or has a bad port is refused', async () => {
    const deps = await testDeps(h.get());
    deps.auth.sso = { ...ssoDeps(), loopbackRequired: true };
    const d = newDevice();
    await expect(startSso(deps.auth, d.device, '10.3.3.8')).rejects.toMatchObject({ code: 'sso_loopback_required' });
    await expect(startSso(deps.auth, d.device, '10.3.3.8', { port: 50000 })).resolves.toMatchObject({
      ssoId: expect.any(String),
    });
    for (const bad of [
      { port: 80 },
      { port: 65536 },
      { port: 1.5 },
      { port: 50000, host: '10.0.0.5' },
      { port: 50000, host: 'localhost' },
    ]) {
      await expect(startSso(deps.auth, d.device, '10.3.3.8', bad as { port: number })).rejects.toMatchObject({
        code: 'bad_request',
      });
    }
    // Without loopbackRequired, the link-only mode still works and takes no completion secret.
    deps.auth.sso = ssoDeps();
    const plain = await startSso(deps.auth, d.device, '10.3.3.8');
    await expect(
      completeSso(deps.auth, plain.ssoId, d.proof(plain.ssoId), '10.3.3.8', 'some-completion-secret-0123456789'),
    ).rejects.toMatchObject({ code: 'bad_request' });
    expect(await completeSso(deps.auth, plain.ssoId, d.proof(plain.ssoId), '10.3.3.8')).toBeUndefined();
  });
});
