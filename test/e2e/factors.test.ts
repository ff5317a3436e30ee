import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import type { PalisadeClient } from '@palisade/client';
import { makeAttestationCa } from '../../packages/server/src/test-support/attestation-ca.js';
import { SOFT_AAGUID, SoftAuthenticator } from '../../packages/server/src/test-support/soft-authenticator.js';
import { useServerWithAdmin } from '../support/harness.js';
import { addDevice, createUsers, deviceClient, PASS, waitFor } from '../support/users.js';
import { palisade } from '../support/cli.js';

// The server trusts a test CA's authenticator model for AAL3, as an operator would trust a vendor.
const ca = await makeAttestationCa(SOFT_AAGUID);
const dir = mkdtempSync(join(tmpdir(), 'palisade-factors-'));
writeFileSync(join(dir, 'root.pem'), ca.rootPem);
writeFileSync(
  join(dir, 'palisade.yaml'),
  `auth:\n  webauthn:\n    attestationAllowlist:\n      - aaguid: ${SOFT_AAGUID}\n        name: Palisade test key\n        rootCertificateFiles: [${JSON.stringify(join(dir, 'root.pem'))}]\n`,
);

const ORIGIN = 'https://localhost:8443'; // the configured WebAuthn origin (the web client's)
const softKey = () =>
  new SoftAuthenticator(ORIGIN, 'localhost', {
    userVerified: true,
    backupEligible: false,
    attestation: { fmt: 'packed', ca },
  });
type Options = { challenge: string; user: { id: string }; allowCredentials?: { id: string }[] };
const codeFor = (secret: string) => new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate();

/** Registers a passkey of `key` on the client's account through the SDK. */
async function registerPasskey(c: PalisadeClient, key: SoftAuthenticator, label: string) {
  const o = await c.api.passkeyRegistrationOptions();
  return c.api.registerPasskey(o.challengeId, key.register(o.options as Options), label);
}

/** Steps up with a passkey through the SDK's signed calls. */
async function passkeyStepUp(c: PalisadeClient, key: SoftAuthenticator) {
  const o = await c.api.call<{ challengeId: string; options: Options }>('POST', '/v1/step-up/passkey/options', {});
  return c.api.call<{ aal: number }>('POST', '/v1/step-up/passkey', {
    challengeId: o.challengeId,
    response: key.assert(o.options),
  });
}

/** Watches a client's socket; `closed()` is true once the server ended its session. */
async function watchSocket(c: PalisadeClient) {
  let closed = false;
  c.on.state = (s) => {
    if (s === 'unauthenticated') closed = true;
  };
  await c.connect();
  return () => closed;
}

describe('factor management against a real server (S2, S5, S16, S19, S20)', () => {
  const env = useServerWithAdmin({ env: { PALISADE_CONFIG: join(dir, 'palisade.yaml') } });

  it('S2: a passkey planted during the grace is listed, removable, counted as MFA, and gone after the two-person reset; passkey login then fails', async () => {
    const [alice] = (await createUsers(env.server, env.admin, ['alice'])) as [PalisadeClient];
    const aliceSocketClosed = await watchSocket(alice);
    const attacker = await addDevice(env.server, alice, 'alice', 'attacker laptop'); // alice's session on a second trusted device
    const key = softKey();
    const planted = await registerPasskey(attacker, key, 'totally legit');
    expect(planted).toMatchObject({ deviceBound: true, aal: 3, aalReason: 'attested' });
    expect(planted.recoveryCodes).toHaveLength(10);
    // Not silent: alice's session and socket end at once, and her next password login asks for the passkey.
    await waitFor(aliceSocketClosed, 2000, "alice's socket to close");
    await expect(alice.api.factors()).rejects.toMatchObject({ code: 'session_invalid', status: 401 });
    expect(await deviceClient(env.server).login('alice', PASS, 'phone')).toMatchObject({
      mfaRequired: true,
      methods: expect.arrayContaining(['passkey']),
    });
    // Listed like any factor, and the admin view counts it as MFA.
    const list = await attacker.api.factors();
    expect(list.factors).toEqual([
      expect.objectContaining({
        id: planted.id,
        kind: 'passkey',
        label: 'totally legit',
        aal: 3,
        deviceBound: true,
        aalReason: 'attested',
        lastUsedAt: null,
      }),
    ]);
    const users = await env.admin.api.call<{ users: { id: string; username: string; mfa: boolean }[] }>(
      'GET',
      '/v1/admin/users',
    );
    expect(users.users.find((u) => u.username === 'alice')?.mfa).toBe(true);
    // Removable with a step-up (DELETE /v1/factors/<passkey id> was a 404).
    await expect(passkeyStepUp(attacker, key)).resolves.toEqual({ aal: 3 });
    await attacker.api.removeFactor(planted.id);
    expect((await attacker.api.factors()).factors).toEqual([]);
    // Planted again; two security admins (each with a passkey, so stepped up) reset alice's factors.
    const again = await registerPasskey(attacker, key, 'again');
    await registerPasskey(env.admin, softKey(), 'admin key');
    // The second security admin comes from the operator (admin socket), so the two are independent (S3, S4).
    const op = await palisade(['admin', 'invite', '--grant', 'security_admin'], {
      PALISADE_DATA_DIR: env.server.dataDir,
    });
    expect(op.code).toBe(0);
    const sec2 = deviceClient(env.server);
    await sec2.api.enrol({ token: op.out.trim(), username: 'sec2', password: PASS });
    await sec2.login('sec2', PASS, 'sec2 laptop');
    await registerPasskey(sec2, softKey(), 'sec2 key');
    const aliceId = users.users.find((u) => u.username === 'alice')!.id;
    const req = await env.admin.api.call<{ id: string }>('POST', '/v1/approvals', {
      action: 'factor.reset',
      userId: aliceId,
      reason: 'planted passkey',
    });
    await sec2.api.call('POST', `/v1/approvals/${req.id}/approve`);
    const db = new Database(join(env.server.dataDir, 'palisade.db'), { readonly: true, fileMustExist: true });
    expect(db.prepare('SELECT id FROM passkeys WHERE user_id = ?').all(aliceId)).toEqual([]);
    expect(db.prepare('SELECT id FROM passkeys WHERE id = ?').all(again.id)).toEqual([]);
    db.close();
    const thief = deviceClient(env.server);
    const o = await thief.api.passkeyLoginOptions();
    await expect(
      thief.api.loginWithPasskey(o.challengeId, key.assert(o.options as Options), 'thief'),
    ).rejects.toMatchObject({ code: 'code_invalid' });
    // Alice logs in with her password alone again on her own device (a fresh grace) to enrol her own factor.
    expect(await alice.login('alice', PASS, 'alice device 1')).toMatchObject({ aal: 1 });
    for (const c of [alice, attacker, sec2, thief]) c.close();
  });

  it('S5: a TOTP enrolment started during the grace cannot be confirmed after the user enrols; adding and removing a factor end the other sessions', async () => {
    const [bob] = (await createUsers(env.server, env.admin, ['bob'])) as [PalisadeClient];
    const attacker = await addDevice(env.server, bob, 'bob', 'attacker laptop');
    const attackerSocketClosed = await watchSocket(attacker);
    const x = await attacker.api.enrolTotp(); // pending X, the attacker knows its secret
    const y = await bob.api.enrolTotp();
    await bob.api.confirmTotp(y.id, codeFor(y.secret));
    await waitFor(attackerSocketClosed, 2000, "the attacker's socket to close");
    // t3-factor: confirming X was 200 with new recovery codes and aal 2; now the session is gone.
    await expect(attacker.api.confirmTotp(x.id, codeFor(x.secret))).rejects.toMatchObject({
      status: 401,
      code: 'session_invalid',
    });
    await expect(attacker.api.removeFactor(y.id)).rejects.toMatchObject({ status: 401 });
    expect((await bob.api.factors()).factors.map((f) => [f.id, f.confirmed])).toEqual([[y.id, true]]); // X was dropped
    // t6-sessions: a second session of bob's (a passwordless passkey login) ends when a factor is removed.
    const key = softKey();
    await registerPasskey(bob, key, 'bob key'); // bob's session stepped up when he confirmed Y
    const tablet = deviceClient(env.server);
    const o = await tablet.api.passkeyLoginOptions();
    await tablet.api.loginWithPasskey(o.challengeId, key.assert(o.options as Options), 'tablet');
    const tabletSocketClosed = await watchSocket(tablet);
    await bob.api.removeFactor(y.id);
    await waitFor(tabletSocketClosed, 2000, "the tablet's socket to close");
    await expect(tablet.api.factors()).rejects.toMatchObject({ status: 401, code: 'session_invalid' });
    expect((await bob.api.factors()).factors.map((f) => f.kind)).toEqual(['passkey']);
  });

  it('S16: an MFA challenge obtained with the old password is refused after a password change', async () => {
    const [carol] = (await createUsers(env.server, env.admin, ['carol'])) as [PalisadeClient];
    const key = softKey();
    await registerPasskey(carol, key, 'carol key');
    const phone = deviceClient(env.server);
    const old = await phone.login('carol', PASS, 'phone');
    if (!('mfaRequired' in old)) throw new Error('expected an MFA challenge');
    await carol.api.changePassword(PASS, 'tulip9orbit lantern');
    await expect(
      phone.api.loginMfa(old.challenge, { webauthn: key.assert(old.webauthn as Options) } as never),
    ).rejects.toMatchObject({ code: 'code_invalid', status: 401 });
    expect(phone.token).toBeUndefined();
  });

  it('S20: passkey login options reveal nothing about users, and 2000 calls from one address stop at the limit', async () => {
    const anon = deviceClient(env.server);
    const shape = async (body: object) => {
      const r = await anon.api.call<{ challengeId: string; options: Record<string, unknown> }>(
        'POST',
        '/v1/login/passkey/options',
        body,
        false,
      );
      return JSON.stringify({ ...r.options, challenge: 'x' });
    };
    const withPasskey = await shape({ username: 'carol' }); // carol has a passkey (S16 test)
    expect(withPasskey).not.toContain('allowCredentials');
    expect(await shape({ username: 'nobody-here' })).toBe(withPasskey);
    expect(await shape({ username: 'admin' })).toBe(withPasskey);
    expect(await shape({})).toBe(withPasskey);
    const db = new Database(join(env.server.dataDir, 'palisade.db'), { readonly: true, fileMustExist: true });
    const rows = () =>
      (db.prepare("SELECT count(*) AS n FROM webauthn_challenges WHERE purpose = 'login'").get() as { n: number }).n;
    const before = rows();
    const t0 = Date.now();
    let ok = 0;
    let limited = 0;
    for (let i = 0; i < 2000; i++) {
      try {
        await anon.api.call('POST', '/v1/login/passkey/options', {}, false);
        ok++;
      } catch (e) {
        expect(e).toMatchObject({ code: 'rate_limited', status: 429 });
        limited++;
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    // The catalogue's rule: a burst of 20, then 20 a minute. At most that many rows were written.
    const allowed = 20 + Math.ceil((seconds * 20) / 60) + 1;
    expect(ok).toBeLessThanOrEqual(allowed);
    expect(limited).toBe(2000 - ok);
    expect(rows() - before).toBe(ok);
    db.close();
  });
});
