import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { PalisadeClient } from '@palisade/client';
import { LOAD_TEST_CONFIG, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { getJson, readAll } from '../support/store-faults.js';
import { createUsers, enrolAdmin } from '../support/users.js';

/**
 * A real small file system: a 20 MiB tmpfs mounted for this test (needs root and the right to mount).
 * Where mounting is not allowed the test is skipped with the reason; the SQLITE_FULL code path itself
 * is also covered without a mount by packages/server/src/store/guard.test.ts (PRAGMA max_page_count).
 */
const mountPoint = mkdtempSync(join(tmpdir(), 'palisade-small-'));
let mounted = false;
let why = '';
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  mounted = true;
} catch (e) {
  why = String((e as { stderr?: Buffer }).stderr ?? e).trim();
  console.warn(
    `disk-full e2e skipped: cannot mount a 20 MiB tmpfs at ${mountPoint} (${why}); run as root with CAP_SYS_ADMIN.`,
  );
}

const bytes = (id: string) => {
  const b = new Uint8Array(16 * 1024).fill(7);
  b.set(new TextEncoder().encode(id));
  return b;
};

describe.skipIf(!mounted)('fault test 6: the data disk fills up (SQLite on a 20 MiB tmpfs)', () => {
  const clients: PalisadeClient[] = [];
  let server: ServerProcess | undefined;
  afterAll(async () => {
    for (const c of clients) c.close();
    if (server && server.child.exitCode === null) await server.stop();
    execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('sends get storage_full (503) and /readyz 503 until space returns; then sends succeed, nothing acknowledged is lost, integrity_check ok', async () => {
    const dataDir = join(mountPoint, 'data');
    mkdirSync(dataDir);
    // The free-disk reserve would refuse sends before the disk is full: switch it off to meet the real SQLITE_FULL.
    const config = LOAD_TEST_CONFIG.replace('limits:\n', 'limits:\n  storageReserveMiB: 0\n');
    server = await startServerProcess({ dataDir, config });
    const admin = await enrolAdmin(server);
    const [alice, bob] = (await createUsers(server, admin, ['alice', 'bob'])) as [PalisadeClient, PalisadeClient];
    clients.push(admin, alice, bob);
    const conv = await alice.api.openDirect('bob');
    await alice.connect();

    // Leave about 2 MiB free, then stream 16 KiB messages until the store says it is full.
    const s = statfsSync(mountPoint);
    const filler = join(mountPoint, 'filler');
    writeFileSync(filler, Buffer.alloc(Math.max(0, Number(s.bavail) * Number(s.bsize) - 2 * 1024 * 1024)));
    const acked = new Map<string, number>();
    const refused: string[] = [];
    const codes = new Set<string>();
    let n = 0;
    const lane = async () => {
      while (refused.length === 0 && n < 2000) {
        const id = `full-${n++}`;
        await alice.send(conv.id, bytes(id), id).then(
          (seq) => void acked.set(id, seq),
          (e: { code?: string }) => (codes.add(e.code ?? 'none'), refused.push(id)),
        );
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    expect([...codes]).toEqual(['storage_full']);
    expect(acked.size).toBeGreaterThan(0);

    // While full: not ready, naming the store; history reads still work.
    const full = await getJson(server, '/readyz');
    expect(full.status).toBe(503);
    expect(full.body).toMatchObject({
      code: 'storage_full',
      details: { checks: { store: { ok: false }, kms: { ok: true } } },
    });
    expect((await readAll(alice, conv.id)).length).toBe(acked.size);

    // Space returns: ready again, and the refused sends go through with their own ids.
    rmSync(filler);
    await expect.poll(async () => (await getJson(server!, '/readyz')).status, { timeout: 10_000 }).toBe(200);
    for (const id of refused) acked.set(id, await alice.send(conv.id, bytes(id), id));
    const stored = await readAll(alice, conv.id);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: acked.size }, (_, i) => i + 1));
    expect(new Map(stored.map((m) => [m.clientMsgId, m.seq]))).toEqual(acked);
    // The operator sees the cause (SQLite's own code, throttled), never the old "cannot rollback" noise.
    expect(server.stdout()).toMatch(/"fault":"storage_full","driverCode":"SQLITE_FULL"/);
    expect(server.stdout() + server.stderr()).not.toMatch(/cannot rollback/);

    expect(await server.stop()).toBe(0);
    const db = new Sqlite(join(dataDir, 'palisade.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: acked.size });
    } finally {
      db.close();
    }
  });
});
