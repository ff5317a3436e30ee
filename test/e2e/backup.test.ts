import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
  expect((await again.api.conversations()).find((c) => c.id === group)).toMatchObject({ name: 'MARKER-group-name-91f2', topic: 'MARKER-topic-91f2' });
  const h = await again.api.history(group);
  expect(h.map((m) => Buffer.from(m.payload, 'base64').toString())).toEqual(Array.from({ length: 20 }, (_, i) => `MARKER-payload-${i}-91f2`));
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
    for (const needle of ['MARKER-', 'kimbackup', 'SQLite format 3']) expect(file.includes(Buffer.from(needle))).toBe(false);
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
    const noSecret = await palisade(['backup', 'restore', out], { PALISADE_DATA_DIR: mkdtempSync(join(tmpdir(), 'palisade-nosecret-')) });
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

describe('encrypted backups (PostgreSQL, pg_dump)', () => {
  const schema = `palisade_bak_${process.pid}_${Date.now()}`;
  afterAll(() => {
    execFileSync('psql', [PG_URL, '-q', '-c', `DROP SCHEMA IF EXISTS "${schema}" CASCADE`], { stdio: 'pipe' });
  });
  it('restores a lost schema from the backup, and the server reads everything', async () => {
    const env = { PALISADE_STORE_URL: PG_URL, PALISADE_STORE_SCHEMA: schema };
    const a = await startServerProcess({ env });
    servers.push(a);
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
  });
});
