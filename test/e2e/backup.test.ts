import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { utf8, type PalisadeClient } from '@palisade/client';
import { PG_URL } from '../../packages/server/src/test-support/with-all-stores.js';
import { palisade } from '../support/cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { createUsers, deviceClient, enrolAdmin } from '../support/users.js';

/** Fills a server with sealed data; returns what a restored server must show. */
async function seed(server: ServerProcess) {
  const admin = await enrolAdmin(server);
  const [kim] = (await createUsers(server, admin, ['kimbackup'])) as [PalisadeClient];
  await kim.api.updateProfile({ displayName: 'MARKER-kim-display-91f2' });
  const group = await kim.api.createGroup('MARKER-group-name-91f2', ['admin'], 'MARKER-topic-91f2');
  await kim.connect();
  for (let i = 0; i < 20; i++) await kim.send(group.id, utf8(`MARKER-payload-${i}-91f2`), `b-${i}`);
  kim.close();
  return { kim, group: group.id };
}

/** After a restore, everything reads back through the API with the same device and session. */
async function expectReadable(server: ServerProcess, kim: PalisadeClient, group: string) {
  const again = deviceClient(server, kim.deviceKey, kim.token);
  expect((await again.api.me()).displayName).toBe('MARKER-kim-display-91f2');
  expect((await again.api.conversations()).find((c) => c.id === group)).toMatchObject({
    name: 'MARKER-group-name-91f2',
    topic: 'MARKER-topic-91f2',
  });
  const h = await again.api.history(group);
  expect(h.map((m) => Buffer.from(m.payload, 'base64').toString())).toEqual(
    Array.from({ length: 20 }, (_, i) => `MARKER-payload-${i}-91f2`),
  );
}

const servers: ServerProcess[] = [];
afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null) await s.stop();
});

describe('encrypted backups (SQLite)', () => {
  it('backs up while serving, the file is opaque, and a new data directory restored from it reads everything', async () => {
    const a = await startServerProcess();
    servers.push(a);
    const { kim, group } = await seed(a);
    const out = join(mkdtempSync(join(tmpdir(), 'palisade-bak-')), 'first.pbak');
    const made = await palisade(['backup', 'create', '--out', out], { PALISADE_DATA_DIR: a.dataDir });
    expect(made.code, made.err).toBe(0);
    expect(made.err).toMatch(/taking a consistent snapshot/);
    const file = readFileSync(out);
    // Two layers: sealed values inside, and the whole snapshot encrypted: not even user names show.
    for (const needle of ['MARKER-', 'kimbackup', 'SQLite format 3'])
      expect(file.includes(Buffer.from(needle))).toBe(false);
    await a.stop();

    const dataDir = mkdtempSync(join(tmpdir(), 'palisade-restored-'));
    const env = { PALISADE_DATA_DIR: dataDir, PALISADE_MASTER_SECRET: `secret://file/${a.dataDir}.master-key` };
    // A tampered copy is refused, naming the problem, and restores nothing.
    const bad = Buffer.from(file);
    bad[bad.length - 40] = (bad[bad.length - 40] ?? 0) ^ 1;
    writeFileSync(`${out}.bad`, bad);
    const refused = await palisade(['backup', 'restore', `${out}.bad`], env);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/does not open: the file was altered/);
    // Without the master secret of the server that made it, the backup opens nothing.
    const noSecret = await palisade(['backup', 'restore', out], {
      PALISADE_DATA_DIR: mkdtempSync(join(tmpdir(), 'palisade-nosecret-')),
    });
    expect(noSecret.code).toBe(1);
    expect(noSecret.err).toMatch(/no master secret/);

    const restored = await palisade(['backup', 'restore', out], env);
    expect(restored.code, restored.err).toBe(0);
    const again = await palisade(['backup', 'restore', out], env);
    expect(again.err).toMatch(/already exists; restore into an empty data directory, or pass --force/);
    const b = await startServerProcess({ dataDir, env });
    servers.push(b);
    await expectReadable(b, kim, group);
    const whileRunning = await palisade(['backup', 'restore', out, '--force'], env);
    expect(whileRunning.err).toMatch(/stop it first/);
  });
});

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A copy of a backup with one character of the keyring salt changed in its clear header. */
function withAlteredSalt(file: Buffer): Buffer {
  const len = file.readUInt32BE(18); // after the 18-byte magic line
  const header = file.subarray(22, 22 + len).toString();
  const at = header.indexOf('"salt":"') + 8;
  const altered = header.slice(0, at) + (header[at] === 'A' ? 'B' : 'A') + header.slice(at + 1);
  return Buffer.concat([file.subarray(0, 22), Buffer.from(altered), file.subarray(22 + len)]);
}

describe('S12: restore checks the whole backup before it touches the keyring or the store', () => {
  it('S12: a backup with an altered keyring salt, an altered chunk or cut short changes no byte with --force, and the server still starts; a good one replaces and keeps the old keyring and store beside', async () => {
    const a = await startServerProcess();
    servers.push(a);
    const { kim, group } = await seed(a);
    const dir = mkdtempSync(join(tmpdir(), 'palisade-bak-'));
    const out = join(dir, 'good.pbak');
    const env = { PALISADE_DATA_DIR: a.dataDir };
    expect((await palisade(['backup', 'create', '--out', out], env)).code).toBe(0);
    // After the backup: a new KEK version (so the live keyring differs from the backup's) and one more message.
    expect((await palisade(['keys', 'rotate'], env)).code).toBe(0);
    await kim.connect();
    await kim.send(group, utf8('MARKER-after-backup-91f2'), 'b-after');
    kim.close();
    await a.stop();

    const ring = join(a.dataDir, 'keys', 'keyring.json');
    const db = join(a.dataDir, 'palisade.db');
    const before = {
      ring: sha(ring),
      db: sha(db),
      files: readdirSync(a.dataDir).sort(),
      keys: readdirSync(join(a.dataDir, 'keys')).sort(),
    };
    const good = readFileSync(out);
    const cases: [string, Buffer, RegExp][] = [
      [
        'salt',
        withAlteredSalt(good),
        /keyring in this backup does not open: the master secret does not open this keyring/,
      ],
      [
        'chunk',
        Buffer.from(good.map((b, i) => (i === good.length - 100 ? b ^ 1 : b))),
        /chunk \d+ does not open: the file was altered/,
      ],
      ['cut', good.subarray(0, good.length - 1000), /cut short|does not open/],
    ];
    for (const [name, bytes, message] of cases) {
      writeFileSync(join(dir, `${name}.pbak`), bytes);
      const r = await palisade(['backup', 'restore', join(dir, `${name}.pbak`), '--force'], env);
      expect(r.code, `${name}: ${r.err}`).toBe(1);
      expect(r.err, name).toMatch(message);
      expect(
        {
          ring: sha(ring),
          db: sha(db),
          files: readdirSync(a.dataDir).sort(),
          keys: readdirSync(join(a.dataDir, 'keys')).sort(),
        },
        name,
      ).toEqual(before);
    }
    const still = await startServerProcess({ dataDir: a.dataDir });
    servers.push(still);
    const again = deviceClient(still, kim.deviceKey, kim.token);
    expect((await again.api.history(group)).length).toBe(21);
    await still.stop();

    const oldRing = sha(ring);
    const oldDb = sha(db);
    const restored = await palisade(['backup', 'restore', out, '--force'], env);
    expect(restored.code, restored.err).toBe(0);
    expect(restored.err).toMatch(/checked [\d.]+ of [\d.]+ MiB \(100%\)/);
    const keptRing = /the keyring it replaced is kept as (\S+keyring\.json\.bak-\d{8}T\d{6}Z) /.exec(restored.err)?.[1];
    const keptDb = /the store it replaced is kept as (\S+palisade\.db\.bak-\d{8}T\d{6}Z)/.exec(restored.err)?.[1];
    expect(keptRing && sha(keptRing)).toBe(oldRing);
    expect(keptDb && sha(keptDb)).toBe(oldDb);
    expect(JSON.parse(readFileSync(ring, 'utf8'))).toEqual(withHeader(good).keyring);
    expect(readdirSync(a.dataDir).filter((f) => f.startsWith('.restore-'))).toEqual([]);
    expect(existsSync(`${ring}.restoring`)).toBe(false);
    const b = await startServerProcess({ dataDir: a.dataDir });
    servers.push(b);
    await expectReadable(b, kim, group); // the 20 messages of the backup, not the one sent after it
  });
});

/** The clear header of a backup file. */
function withHeader(file: Buffer): { keyring: unknown } {
  const len = file.readUInt32BE(18);
  return JSON.parse(file.subarray(22, 22 + len).toString()) as { keyring: unknown };
}

describe('encrypted backups (PostgreSQL, pg_dump)', () => {
  const schema = `palisade_bak_${process.pid}_${Date.now()}`;
  afterAll(() => {
    execFileSync('psql', [PG_URL, '-q', '-c', `DROP SCHEMA IF EXISTS "${schema}" CASCADE`], { stdio: 'pipe' });
    for (const kept of keptSchemas)
      execFileSync('psql', [PG_URL, '-q', '-c', `DROP SCHEMA IF EXISTS "${kept}" CASCADE`], { stdio: 'pipe' });
  });
  const keptSchemas: string[] = [];
  const dumpSchema = () =>
    execFileSync('pg_dump', ['--schema-only', `--schema=${schema}`, PG_URL])
      .toString()
      .replace(/^\\(un)?restrict .*$/gm, '') +
    execFileSync('psql', [PG_URL, '-tA', '-c', `SELECT count(*) FROM "${schema}".messages`]).toString();
  it('restores a lost schema from the backup, and the server reads everything; S12: with --force an altered backup leaves the schema as it was, a good one keeps the old schema aside', async () => {
    const env = { PALISADE_STORE_URL: PG_URL, PALISADE_STORE_SCHEMA: schema };
    const a = await startServerProcess({ env });
    servers.push(a);
    expect(a.stderr()).toMatch(/PostgreSQL link: no TLS\n/); // loopback: allowed without TLS, and said so
    const { kim, group } = await seed(a);
    const out = join(mkdtempSync(join(tmpdir(), 'palisade-bak-')), 'pg.pbak');
    const made = await palisade(['backup', 'create', '--out', out], { ...env, PALISADE_DATA_DIR: a.dataDir });
    expect(made.code, made.err).toBe(0);
    expect(readFileSync(out).includes(Buffer.from('MARKER'))).toBe(false);
    await a.stop();
    execFileSync('psql', [PG_URL, '-q', '-c', `DROP SCHEMA "${schema}" CASCADE`], { stdio: 'pipe' }); // the disaster
    const restored = await palisade(['backup', 'restore', out], { ...env, PALISADE_DATA_DIR: a.dataDir });
    expect(restored.code, restored.err).toBe(0);
    const b = await startServerProcess({ dataDir: a.dataDir, env });
    servers.push(b);
    await expectReadable(b, kim, group);
    await b.stop();

    // S12 on PostgreSQL: an altered backup with --force leaves the live schema as it was.
    const before = dumpSchema();
    const good = readFileSync(out);
    writeFileSync(`${out}.bad`, Buffer.from(good.map((x, i) => (i === good.length - 100 ? x ^ 1 : x))));
    const refused = await palisade(['backup', 'restore', `${out}.bad`, '--force'], {
      ...env,
      PALISADE_DATA_DIR: a.dataDir,
    });
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/does not open: the file was altered/);
    expect(dumpSchema()).toBe(before);
    // A good one with --force replaces the schema in one transaction and keeps the old one aside.
    const forced = await palisade(['backup', 'restore', out, '--force'], { ...env, PALISADE_DATA_DIR: a.dataDir });
    expect(forced.code, forced.err).toBe(0);
    const kept = /the store it replaced is kept as (\S+)/.exec(forced.err)?.[1];
    expect(kept).toMatch(new RegExp(`^${schema}_bak_\\d{8}t\\d{6}z$`));
    keptSchemas.push(kept!);
    expect(
      execFileSync('psql', [PG_URL, '-tA', '-c', `SELECT count(*) FROM "${kept}".messages`])
        .toString()
        .trim(),
    ).toBe('20');
    const c = await startServerProcess({ dataDir: a.dataDir, env });
    servers.push(c);
    await expectReadable(c, kim, group);
  });
});

/** Needs a PostgreSQL with TLS (see packages/server/src/store/postgres/tls.test.ts); the shared test server has none. */
const TLS_URL = process.env.PALISADE_TEST_PG_TLS_URL;
const TLS_DIR = process.env.PALISADE_TEST_PG_TLS_DIR ?? '';
describe.skipIf(!TLS_URL)('S22: a PostgreSQL store over verified TLS (PALISADE_TEST_PG_TLS_URL)', () => {
  const schema = `palisade_tlsbak_${process.pid}_${Date.now()}`;
  const env = {
    PALISADE_STORE_URL: TLS_URL ?? '',
    PALISADE_STORE_SCHEMA: schema,
    PALISADE_STORE_TLS_CA: join(TLS_DIR, 'ca.pem'),
    PALISADE_STORE_TLS_CERT: join(TLS_DIR, 'client.crt'),
    PALISADE_STORE_TLS_KEY: `secret://file/${join(TLS_DIR, 'client.key')}`,
  };
  it('S22: the server runs on it, pg_dump backs it up and a restore (psql) puts it back, all over TLS verify-full', async () => {
    const a = await startServerProcess({ env });
    servers.push(a);
    expect(a.stderr()).toMatch(/PostgreSQL link: TLS verify-full\n/);
    const { kim, group } = await seed(a);
    const out = join(mkdtempSync(join(tmpdir(), 'palisade-bak-')), 'tls.pbak');
    const made = await palisade(['backup', 'create', '--out', out], { ...env, PALISADE_DATA_DIR: a.dataDir });
    expect(made.code, made.err).toBe(0);
    await a.stop();
    const forced = await palisade(['backup', 'restore', out, '--force'], { ...env, PALISADE_DATA_DIR: a.dataDir });
    expect(forced.code, forced.err).toBe(0);
    const kept = /the store it replaced is kept as (\S+)/.exec(forced.err)?.[1];
    const b = await startServerProcess({ dataDir: a.dataDir, env });
    servers.push(b);
    await expectReadable(b, kim, group);
    await b.stop();
    const psql = {
      ...process.env,
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: env.PALISADE_STORE_TLS_CA,
      PGSSLCERT: env.PALISADE_STORE_TLS_CERT,
      PGSSLKEY: join(TLS_DIR, 'client.key'),
    };
    for (const s of [schema, kept])
      if (s)
        execFileSync('psql', [TLS_URL ?? '', '-q', '-c', `DROP SCHEMA IF EXISTS "${s}" CASCADE`], {
          stdio: 'pipe',
          env: psql,
        });
  });
});
