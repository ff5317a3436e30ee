import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import type { PalisadeClient } from '@palisade/client';
import { publicKeyFingerprint } from '@palisade/client/node';
import { chat, chatOnTty } from '../support/cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { issueServerCert, makeTestCa, selfSign } from '../support/test-ca.js';
import { createUsers, enrolAdmin, PASS, secureReader, waitFor } from '../support/users.js';

const newHome = () => mkdtempSync(join(tmpdir(), 'palisade-chat-'));
const bannerFingerprint = (s: ServerProcess) => [...s.stderr().matchAll(/SHA-256 fingerprint: (\S+)/g)].at(-1)![1]!;
const codeFor = (secret: string, at: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: at });

/** A free port, so a restarted server keeps its URL (and the profile its trust). */
const freePort = () =>
  new Promise<number>((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => r(port));
    });
  });

describe('palisade-chat against a server whose certificate a private CA signed', () => {
  const ca = makeTestCa();
  const leaf = issueServerCert(ca);
  let server: ServerProcess;
  let admin: PalisadeClient;
  let bob: PalisadeClient;
  beforeAll(async () => {
    const s = await startServerProcess({
      config: `server:\n  tls:\n    certFile: ${leaf.certFile}\n    keyFile: ${leaf.keyFile}\n`,
    });
    server = { ...s, ca: ca.pem, stop: () => s.stop() };
    admin = await enrolAdmin(server);
    [bob] = (await createUsers(server, admin, ['bob'])) as [PalisadeClient];
  });
  afterAll(async () => {
    admin?.close();
    bob?.close();
    await server?.stop();
  });

  it('without --ca says the CA is not trusted and what to give, sending nothing', async () => {
    expect(server.stderr()).toMatch(
      /TLS certificate \(operator\)[\s\S]*If your CA is not in the system store of the client, add --ca CA\.pem/,
    );
    const inv = await admin.api.invite();
    const home = newHome();
    const r = await chat(
      home,
      ['enrol', '--server', server.baseUrl, '--token-stdin', '--username', 'carl', '--password-stdin'],
      `${inv.token}\n${PASS}\n`,
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /does not verify \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): it was issued by "CN=Palisade Test CA", which this computer does not trust/,
    );
    expect(r.err).toMatch(/add --ca FILE .*or set NODE_EXTRA_CA_CERTS=FILE/);
    expect(r.err).not.toMatch(/Password:|token/i);
    // A CA that did not sign it is refused too.
    const other = makeTestCa('Some Other CA');
    const wrong = await chat(
      home,
      [
        'enrol',
        '--server',
        server.baseUrl,
        '--ca',
        other.certFile,
        '--token-stdin',
        '--username',
        'carl',
        '--password-stdin',
      ],
      `${inv.token}\n${PASS}\n`,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/does not verify against --ca .*issued by "CN=Palisade Test CA"/);
    // Nothing was sent: the invite still works.
    const ok = await chat(
      home,
      [
        'enrol',
        '--server',
        server.baseUrl,
        '--ca',
        ca.certFile,
        '--token-stdin',
        '--username',
        'carl',
        '--password-stdin',
      ],
      `${inv.token}\n${PASS}\n`,
    );
    expect(ok.err).toMatch(/logged in as carl/);
  });

  it('enrols with --ca (kept in the profile), then lists and chats over HTTPS and WSS with it', async () => {
    const home = newHome();
    const inv = await admin.api.invite();
    const e = await chat(
      home,
      [
        'enrol',
        '--server',
        server.baseUrl,
        '--ca',
        ca.certFile,
        '--token-stdin',
        '--username',
        'cara',
        '--password-stdin',
      ],
      `${inv.token}\n${PASS}\n`,
    );
    expect(e.err).toMatch(/logged in as cara/);
    expect(e.code).toBe(0);
    expect(readFileSync(join(home, 'ca.pem'), 'utf8')).toBe(ca.pem);
    expect(statSync(join(home, 'ca.pem')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(home, 'trust.json'), 'utf8'))).toEqual({ server: server.baseUrl, kind: 'ca' });
    unlinkSync(ca.certFile); // later commands use the profile's copy
    const reader = await secureReader(bob);
    await bob.connect();
    const open = await chat(home, ['open', 'bob'], 'over a CA-signed certificate\n/quit\n');
    expect(open.code, open.err).toBe(0);
    await waitFor(() => reader.got.length === 1, 30_000, 'the message to be decrypted');
    expect(reader.got[0]).toMatchObject({ text: 'over a CA-signed certificate', protection: 'e2ee' });
    expect((await chat(home, ['list'])).out).toMatch(/@bob\s+2 members/);
    expect((await chat(home, ['trust'])).out).toMatch(
      /trusted: .*the private CA saved with --ca \(CN=Palisade Test CA\)/,
    );
  });

  it('trusts the CA through the system store (NODE_EXTRA_CA_CERTS) with no question and no fingerprint', async () => {
    const home = newHome();
    const caFile = join(mkdtempSync(join(tmpdir(), 'palisade-ca-copy-')), 'ca.pem');
    writeFileSync(caFile, ca.pem);
    const inv = await admin.api.invite();
    const e = await chat(
      home,
      ['enrol', '--server', server.baseUrl, '--token-stdin', '--username', 'cleo', '--password-stdin'],
      `${inv.token}\n${PASS}\n`,
      { NODE_EXTRA_CA_CERTS: caFile },
    );
    expect(e.err).toMatch(/logged in as cleo/);
    expect(JSON.parse(readFileSync(join(home, 'trust.json'), 'utf8'))).toEqual({
      server: server.baseUrl,
      kind: 'system',
    });
    expect((await chat(home, ['list'], '', { NODE_EXTRA_CA_CERTS: caFile })).code).toBe(0);
    // The system store vouches for the CA only where it holds it.
    const without = await chat(home, ['list']);
    expect(without.code).toBe(1);
    expect(without.err).toMatch(
      /no longer accepts the server's certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): run `palisade-chat trust`/,
    );
  });
});

describe('palisade-chat against a self-signed server whose certificate changes', () => {
  let port: number;
  let server: ServerProcess;
  let admin: PalisadeClient;
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-e2e-'));
  const home = newHome();
  // More enrolments from 127.0.0.1 than the default budget (10 per address) allows in a minute.
  const config =
    "limits:\n  overrides:\n    'enrol.address': { burst: 100, perSecond: 1 }\n    'enrol.network': { burst: 100, perSecond: 1 }\n";
  const restart = async () => {
    await server.stop();
    server = await startServerProcess({
      dataDir,
      config,
      env: { PALISADE_PORT: String(port), PALISADE_E2EE_REQUIRED: 'true' },
    });
  };
  beforeAll(async () => {
    port = await freePort();
    server = await startServerProcess({
      dataDir,
      config,
      env: { PALISADE_PORT: String(port), PALISADE_E2EE_REQUIRED: 'true' },
    });
    admin = await enrolAdmin(server);
  });
  afterAll(async () => {
    admin?.close();
    await server?.stop();
  });

  it('logs in with a second factor without a terminal: --code, the line after the password, or a clear refusal (exit 3)', async () => {
    const [gus] = (await createUsers(server, admin, ['gus'])) as [PalisadeClient];
    const t = await gus.api.enrolTotp();
    const { recoveryCodes } = await gus.api.confirmTotp(t.id, codeFor(t.secret, Date.now()));
    gus.close();
    const fp = bannerFingerprint(server);
    const h = newHome();
    const args = ['login', '--server', server.baseUrl, '--username', 'gus', '--fingerprint', fp, '--password-stdin'];
    const none = await chat(h, args, `${PASS}\n`);
    expect(none.code).toBe(3);
    expect(none.err).toMatch(
      /this account needs a second factor and none was given: add --code CODE, or put the code on the line after the password/,
    );
    // The confirmation spent this step's code; the next step's is accepted (the server allows one step of drift).
    const nextStep = (Math.floor(Date.now() / 30_000) + 1) * 30_000;
    const withCode = await chat(h, [...args, '--code', codeFor(t.secret, nextStep)], `${PASS}\n`);
    expect(withCode.err).toMatch(/logged in as gus/);
    expect(withCode.code).toBe(0);
    const onStdin = await chat(newHome(), args, `${PASS}\n${recoveryCodes![0]}\n`);
    expect(onStdin.err).toMatch(/logged in as gus/);
  });

  it('asks again for a password the server finds weak (at a prompt), but not from --password-stdin', async () => {
    const fp = bannerFingerprint(server);
    const inv = await admin.api.invite();
    const args = ['enrol', '--server', server.baseUrl, '--token-stdin', '--username', 'hal', '--fingerprint', fp];
    const strict = await chat(newHome(), [...args, '--password-stdin'], `${inv.token}\nhal hal hal\n${PASS}\n`);
    expect(strict.code).toBe(1);
    expect(strict.err).toMatch(/weak_password/);
    expect(strict.err.match(/Password: /g)).toHaveLength(1);
    const retried = await chat(newHome(), args, `${inv.token}\nhal hal hal\nshort\n${PASS}\n`);
    expect(retried.err).toMatch(/weak_password: .*\(try 2 of 3\)/);
    expect(retried.err).toMatch(/\(try 3 of 3\)/);
    expect(retried.err).toMatch(/logged in as hal/);
    expect(retried.code).toBe(0);
  });

  it('tightens a profile folder made beforehand with 0755 to 0700; `open` with your own name says so; `devices reset` keeps the old key', async () => {
    const h = join(mkdtempSync(join(tmpdir(), 'palisade-chat-')), 'ivy');
    mkdirSync(h, { mode: 0o755 });
    const inv = await admin.api.invite();
    const e = await chat(
      h,
      [
        'enrol',
        '--server',
        server.baseUrl,
        '--token-stdin',
        '--username',
        'ivy',
        '--fingerprint',
        bannerFingerprint(server),
        '--password-stdin',
      ],
      `${inv.token}\n${PASS}\n`,
    );
    expect(e.err).toMatch(/could be read by others \(mode 755\); changed it to 700/);
    expect(statSync(h).mode & 0o777).toBe(0o700);
    const self = await chat(h, ['open', 'ivy']);
    expect(self.code).toBe(1);
    expect(self.err).toMatch(/ivy is you: open another user's name/);
    // This device revoked (here by itself): the login refusal names the command that gets out of it.
    const deviceId = /^(\S+)\s+trusted .*\(this one\)$/m.exec((await chat(h, ['devices'])).out)![1]!;
    expect((await chat(h, ['devices', 'revoke', deviceId, '--yes'])).code).toBe(0);
    const revoked = await chat(h, ['login', '--password-stdin'], `${PASS}\n`);
    expect(revoked.code).toBe(1);
    expect(revoked.err).toMatch(
      /invalid_device_key: .*revoked.*Run `palisade-chat devices reset` \(it keeps the old key file\), then `palisade-chat login`/,
    );
    const oldKey = readFileSync(join(h, 'device.key'), 'utf8');
    const reset = await chat(h, ['devices', 'reset']);
    expect(reset.code).toBe(0);
    const backup = /kept in (\S+);/.exec(reset.err)![1]!;
    expect(readFileSync(backup, 'utf8')).toBe(oldKey);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    expect(existsSync(join(h, 'device.key'))).toBe(false);
    expect((await chat(h, ['list'])).err).toMatch(/not logged in/);
    const fresh = await chat(h, ['login', '--password-stdin'], `${PASS}\n`);
    // No other trusted device is left, so the new key is let in with the password (the server's rule).
    expect(fresh.err).toMatch(/logged in as ivy/);
    expect(readFileSync(join(h, 'device.key'), 'utf8')).not.toBe(oldKey);
  });

  // Last: after the key change the SDK clients above trust the old certificate.
  it('pins the key on first use; a renewal with the same key works; a new key is refused with both fingerprints until replaced', async () => {
    const inv = await admin.api.invite();
    const first = bannerFingerprint(server);
    const e = await chat(
      home,
      [
        'enrol',
        '--server',
        server.baseUrl,
        '--token-stdin',
        '--username',
        'dora',
        '--fingerprint',
        first.replace(/:/g, '').toLowerCase(),
        '--password-stdin',
      ],
      `${inv.token}\n${PASS}\n`,
    );
    expect(e.err).toMatch(/logged in as dora/);
    const pinned = publicKeyFingerprint(server.ca);
    expect(JSON.parse(readFileSync(join(home, 'trust.json'), 'utf8'))).toEqual({
      server: server.baseUrl,
      kind: 'pin',
      key: pinned,
    });

    // Renewal: a new certificate for the same key.
    selfSign(join(dataDir, 'tls', 'key.pem'), join(dataDir, 'tls', 'cert.pem'));
    await restart();
    expect(bannerFingerprint(server)).not.toBe(first);
    const renewed = await chat(home, ['list']);
    expect(renewed.code, renewed.err).toBe(0);

    // A profile of the old format (the certificate itself in server-cert.pem) becomes a pin.
    unlinkSync(join(home, 'trust.json'));
    writeFileSync(join(home, 'server-cert.pem'), server.ca, { mode: 0o600 });
    const migrated = await chat(home, ['list']);
    expect(migrated.code, migrated.err).toBe(0);
    expect(migrated.err).toMatch(/server-cert\.pem\) is now a pin of the server's public key/);
    expect(existsSync(join(home, 'server-cert.pem'))).toBe(false);
    expect(JSON.parse(readFileSync(join(home, 'trust.json'), 'utf8'))).toMatchObject({ kind: 'pin', key: pinned });

    // A new key (a restore onto a new machine): refused, clearly, by every command.
    selfSign(join(dataDir, 'tls', 'key.pem'), join(dataDir, 'tls', 'cert.pem'), { newKey: true, cn: 'new machine' });
    await restart();
    const now = bannerFingerprint(server);
    const presented = publicKeyFingerprint(server.ca);
    const refused = await chat(home, ['list']);
    expect(refused.code).toBe(1);
    expect(refused.err).not.toMatch(/self-signed certificate/);
    expect(refused.err).toContain(`trusted key:   ${pinned}`);
    expect(refused.err).toContain(`presented key: ${presented}`);
    expect(refused.err).toContain(`palisade-chat trust --fingerprint ${now}`);
    const login = await chat(home, ['login', '--password-stdin'], `${PASS}\n`);
    expect(login.code).toBe(1);
    expect(login.err).toMatch(/DIFFERENT public key/);
    expect(login.err).not.toMatch(/Password:/); // nothing asked, nothing sent
    // SECURITY: a fingerprint that does not name the presented certificate changes nothing.
    const wrong = await chat(home, ['trust', '--fingerprint', first]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/does not name it either: nothing was changed/);
    expect((JSON.parse(readFileSync(join(home, 'trust.json'), 'utf8')) as { key: string }).key).toBe(pinned);

    // At a terminal the warning asks; anything but y changes nothing.
    const no = await chatOnTty(home, ['trust'], 'n\n');
    expect(no.out).toMatch(/DIFFERENT public key[\s\S]*Replace the trusted key with the presented one\? \[y\/N\]/);
    expect(no.out).toMatch(/the trusted key was not changed; nothing was sent/);
    expect(no.code).toBe(1);
    expect((JSON.parse(readFileSync(join(home, 'trust.json'), 'utf8')) as { key: string }).key).toBe(pinned);

    const replaced = await chat(home, ['trust', '--fingerprint', now.toLowerCase()]);
    expect(replaced.code, replaced.err).toBe(0);
    expect(replaced.err).toContain(`replaced the trusted key ${pinned} with ${presented}`);
    expect(replaced.out).toMatch(/trusted: .*the pinned public key/);
    expect((await chat(home, ['list'])).code).toBe(0);

    // First use at a terminal: the fingerprint is shown and a typed y pins the key.
    const h = newHome();
    const tofu = await chatOnTty(h, ['trust', '--server', server.baseUrl], 'y\n');
    expect(tofu.out).toContain(`self-signed certificate with SHA-256 fingerprint\r\n  ${now}`);
    expect(tofu.out).toMatch(/Trust this certificate\? \[y\/N\]/);
    expect(tofu.code).toBe(0);
    expect(JSON.parse(readFileSync(join(h, 'trust.json'), 'utf8'))).toEqual({
      server: server.baseUrl,
      kind: 'pin',
      key: presented,
    });
  });
});
