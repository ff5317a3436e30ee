import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { utf8 } from '@palisade/client';
import { softHsmToken } from '../../packages/server/src/test-support/softhsm.js';
import { PG_URL } from '../../packages/server/src/test-support/with-all-stores.js';
import { palisade } from '../support/cli.js';
import { useServerWithAdmin, type ServerWithAdmin } from '../support/harness.js';
import { deviceClient, PASS } from '../support/users.js';

/** Every encoding of `marker` a careless store could leave behind. */
function encodings(marker: string): Buffer[] {
  const b = Buffer.from(marker);
  return [
    b,
    Buffer.from(marker, 'utf16le'),
    Buffer.from(b.toString('base64')),
    Buffer.from(b.toString('base64url')),
    Buffer.from(b.toString('hex')),
    Buffer.from(b.toString('hex').toUpperCase()),
  ];
}

/**
 * Plants a distinctive marker in every sealed field through the real API (payload, group name and
 * topic, display name, e-mail, TOTP secret, device name), reads each back through the API, then hands
 * the raw store bytes to `expectAbsent`.
 */
async function plantMarkersAndScan(ctx: ServerWithAdmin, tag: string, rawStore: () => Buffer[]): Promise<void> {
  const m = (what: string) => `MARKER-${what}-${tag}-7c1e`;
  const inv = await ctx.admin.api.invite('member');
  const ivy = deviceClient(ctx.server);
  await ivy.api.enrol({ token: inv.token, username: `ivy${tag}`, password: PASS, displayName: m('display') });
  await ivy.login(`ivy${tag}`, PASS, m('device'));
  await ivy.api.updateProfile({ email: `${m('email').toLowerCase()}@example.test` });
  const group = await ivy.api.createGroup(m('group'), ['admin'], m('topic'));
  await ivy.connect();
  await ivy.send(group.id, utf8(m('payload')));
  const totp = await ivy.api.enrolTotp();
  // Everything reads back exactly through the API (sealed and opened by the server).
  expect(await ivy.api.me()).toMatchObject({
    displayName: m('display'),
    email: `${m('email').toLowerCase()}@example.test`,
  });
  expect((await ivy.api.conversations()).find((c) => c.id === group.id)).toMatchObject({
    name: m('group'),
    topic: m('topic'),
  });
  expect((await ivy.api.sessions()).sessions[0]!.deviceName).toBe(m('device'));
  expect(Buffer.from((await ivy.api.history(group.id))[0]!.payload, 'base64').toString()).toBe(m('payload'));
  // Once an admin has verified it (S14), the admin finds the account by e-mail (blind index), in any letter case.
  await ctx.admin.api.call('POST', `/v1/admin/users/${(await ivy.api.me()).userId}/email/verify`);
  expect((await ctx.admin.api.users(`${m('email')}@EXAMPLE.test`)).map((u) => u.username)).toEqual([`ivy${tag}`]);
  ivy.close();
  const raw = rawStore();
  expect(raw.reduce((n, b) => n + b.length, 0)).toBeGreaterThan(10_000);
  const secrets = [
    m('payload'),
    m('group'),
    m('topic'),
    m('display'),
    m('email').toLowerCase(),
    m('device'),
    totp.secret,
  ];
  for (const secret of secrets) {
    for (const enc of encodings(secret))
      for (const b of raw) expect(b.includes(enc), `${secret} as ${enc.toString().slice(0, 12)}…`).toBe(false);
  }
  // The usernames are clear by design (compared at login): the scan is able to find what is there.
  expect(raw.some((b) => b.includes(Buffer.from(`ivy${tag}`)))).toBe(true);
}

const sqliteFiles = (dataDir: string) => () =>
  readdirSync(dataDir)
    .filter((f) => f.startsWith('palisade.db'))
    .map((f) => readFileSync(join(dataDir, f)));

describe('encryption at rest: the SQLite file and its WAL hold no sealed value in clear', () => {
  const ctx = useServerWithAdmin();
  it('finds no marker from any sealed field, in any encoding, and no client address', async () => {
    await plantMarkersAndScan(ctx, 'sqlite', sqliteFiles(ctx.server.dataDir));
    const files = sqliteFiles(ctx.server.dataDir)();
    expect(files.length).toBeGreaterThanOrEqual(2); // the database and its WAL
    // Addresses kept for risk and audit are sealed too.
    for (const enc of encodings('127.0.0.1')) for (const f of files) expect(f.includes(enc)).toBe(false);
  });
});

const schema = `palisade_e2e_${process.pid}_${Date.now()}`;
describe('encryption at rest: a pg_dump of the PostgreSQL store holds no sealed value in clear', () => {
  const ctx = useServerWithAdmin({ env: { PALISADE_STORE_URL: PG_URL, PALISADE_STORE_SCHEMA: schema } });
  afterAll(() => {
    execFileSync('psql', [PG_URL, '-q', '-c', `DROP SCHEMA IF EXISTS "${schema}" CASCADE`], { stdio: 'pipe' });
  });
  it('finds no marker from any sealed field in the dump, in any encoding', async () => {
    await plantMarkersAndScan(ctx, 'pg', () => [
      execFileSync('pg_dump', ['--no-owner', '-n', schema, PG_URL], { maxBuffer: 256 * 1024 * 1024 }),
    ]);
  });
});

const hsm = softHsmToken();
(hsm ? describe : describe.skip)('encryption at rest with the PKCS#11 KMS (SoftHSM2)', () => {
  const ctx = useServerWithAdmin({
    env: hsm
      ? {
          SOFTHSM2_CONF: hsm.conf,
          PALISADE_KEYS_PROVIDER: 'pkcs11',
          PALISADE_PKCS11_LIBRARY: hsm.library,
          PALISADE_PKCS11_TOKEN_LABEL: hsm.tokenLabel,
          PALISADE_PKCS11_PIN: 'secret://env/E2E_HSM_PIN',
          E2E_HSM_PIN: hsm.pin,
          PALISADE_PKCS11_LABEL_PREFIX: `e2e-${process.pid}`,
        }
      : {},
  });
  it('seals with KEKs held in the token: no marker in the files, and no master-secret file is generated', async () => {
    await plantMarkersAndScan(ctx, 'hsm', sqliteFiles(ctx.server.dataDir));
    expect(
      readdirSync(join(ctx.server.dataDir, '..')).filter(
        (f) => f === `${ctx.server.dataDir.split('/').pop()}.master-key`,
      ),
    ).toEqual([]);
    expect(ctx.server.stderr()).not.toContain('Generated the master secret');
    // Rotation and re-encryption with the token: new KEK inside the HSM, every value still opens.
    const env = { PALISADE_DATA_DIR: ctx.server.dataDir };
    const rot = await palisade(['keys', 'rotate', '--reencrypt'], env);
    expect(rot.out, rot.err).toMatch(/KEK version 2 is current; [1-9]\d* data key\(s\) rewrapped/);
    expect(rot.out).toMatch(/0 unreadable/);
    expect((await palisade(['keys', 'status'], env)).out).toMatch(/KMS provider: pkcs11[\s\S]*v2 {2}created/);
    expect(
      (await ctx.admin.api.users()).some(
        (u) => u.username === 'ivyhsm' && u.email === 'marker-email-hsm-7c1e@example.test',
      ),
    ).toBe(true);
  });
});
