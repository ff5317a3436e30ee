import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store.js';
import { DurableSqliteDialect } from './durable-driver.js';
import { WalSync } from './wal-sync.js';

const dirs: string[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function fileStore(): Promise<{ store: Store; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-walsync-'));
  dirs.push(dir);
  const path = join(dir, 'palisade.db');
  const store = await openStore({ url: `sqlite:${path}`, dataDir: dir });
  stores.push(store);
  await sql`CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)`.execute(store.db);
  return { store, path };
}

describe('SQLite commits synced off the event loop', () => {
  it('lets the event loop turn while a commit waits for its fsync (it used to block it)', async () => {
    const { store } = await fileStore();
    for (const write of [
      () => sql`INSERT INTO t (body) VALUES (${Buffer.alloc(100)})`.execute(store.db),
      () =>
        store.db.transaction().execute(async (tx) => {
          await sql`INSERT INTO t (body) VALUES (${Buffer.alloc(100)})`.execute(tx);
        }),
    ]) {
      let turned = false;
      setImmediate(() => (turned = true));
      await write();
      // A synchronous fsync inside COMMIT resolves within the same turn, before any setImmediate.
      expect(turned).toBe(true);
    }
    // A read alone does not wait for the disk: it resolves within the same turn.
    let turned = false;
    setImmediate(() => (turned = true));
    await sql`SELECT count(*) AS n FROM t`.execute(store.db);
    expect(turned).toBe(false);
  });

  it('a committed row is in the WAL on disk and read by another connection; a rollback leaves nothing', async () => {
    const { store, path } = await fileStore();
    await store.db.transaction().execute(async (tx) => {
      await sql`INSERT INTO t (id, body) VALUES (1, ${Buffer.from('kept')})`.execute(tx);
    });
    await expect(
      store.db.transaction().execute(async (tx) => {
        await sql`INSERT INTO t (id, body) VALUES (2, ${Buffer.from('gone')})`.execute(tx);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const other = new Sqlite(path, { readonly: true });
    try {
      const rows = other.prepare('SELECT id, body FROM t ORDER BY id').all() as { id: number; body: Buffer }[];
      expect(rows.map((r) => [r.id, r.body.toString()])).toEqual([[1, 'kept']]);
    } finally {
      other.close();
    }
  });

  it('checkpoints the WAL into the database file on the checkpoint thread (the connection itself would wait for 64 MiB)', async () => {
    const { store, path } = await fileStore();
    const before = statSync(path).size;
    // 1,600 commits of 2 KiB: past the thread's 1,000-sync checkpoint interval (with time to run it), far under the fallback.
    for (let i = 0; i < 1600; i++) await sql`INSERT INTO t (body) VALUES (${Buffer.alloc(2048, i)})`.execute(store.db);
    expect(statSync(path).size).toBeGreaterThan(before + 256 * 2048);
    const n = await sql<{ n: number }>`SELECT count(*) AS n FROM t`.execute(store.db);
    expect(Number(n.rows[0]?.n)).toBe(1600);
  });

  it('concurrent writers are all committed, each durable before it resolves, in one consistent order', async () => {
    const { store } = await fileStore();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.db.transaction().execute(async (tx) => {
          await sql`INSERT INTO t (id, body) VALUES (${i + 1}, ${Buffer.alloc(10)})`.execute(tx);
        }),
      ),
    );
    const n = await sql<{ n: number }>`SELECT count(*) AS n FROM t`.execute(store.db);
    expect(Number(n.rows[0]?.n)).toBe(50);
  });

  it('once the sync thread is gone, every statement is refused (reads too) and nothing waits forever', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-walsync-'));
    dirs.push(dir);
    const path = join(dir, 'x.db');
    const sqlite = new Sqlite(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    const sync = WalSync.start(path);
    const db = new Kysely<{ t: { id: number } }>({ dialect: new DurableSqliteDialect(sqlite, sync) });
    try {
      await sql`CREATE TABLE t (id INTEGER PRIMARY KEY)`.execute(db);
      await sql`INSERT INTO t (id) VALUES (1)`.execute(db);
      // The thread dies (as after a failed fsync, which also ends it).
      await (sync as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
      await expect(sync.durable()).rejects.toMatchObject({ code: 'SQLITE_IOERR_FSYNC' });
      expect(sync.failure).toBeDefined();
      await expect(sql`INSERT INTO t (id) VALUES (2)`.execute(db)).rejects.toMatchObject({
        code: 'SQLITE_IOERR_FSYNC',
      });
      await expect(sql`SELECT id FROM t`.execute(db)).rejects.toMatchObject({ code: 'SQLITE_IOERR_FSYNC' });
      // Nothing of the refused insert reached the file.
      const other = new Sqlite(path, { readonly: true });
      expect(other.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
      other.close();
    } finally {
      await db.destroy();
    }
  });

  it('close syncs what is pending; a sync asked for after close rejects at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-walsync-'));
    dirs.push(dir);
    const path = join(dir, 'y.db');
    const sqlite = new Sqlite(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    const sync = WalSync.start(path);
    sqlite.exec('INSERT INTO t (id) VALUES (1)');
    const pending = sync.durable();
    await sync.close();
    await expect(pending).resolves.toBeUndefined();
    await expect(sync.durable()).rejects.toMatchObject({ code: 'SQLITE_IOERR_FSYNC' });
    sqlite.close();
  });
});
