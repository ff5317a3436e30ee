import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { SendQueue } from '../messaging/index.js';
import { PG_URL, pgUp } from '../test-support/with-all-stores.js';
import { startStallProxy } from '../test-support/stall-proxy.js';
import { storeFault } from './errors.js';
import { dropPostgresSchema } from './postgres/driver.js';
import { openStore } from './store.js';

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string; message?: string }) => e.code ?? String(e.message),
  );

describe('store faults: one stable classification', () => {
  it.each([
    [{ code: 'SQLITE_FULL', message: 'database or disk is full' }, 'storage_full'],
    [{ code: '53100', message: 'could not extend file' }, 'storage_full'],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }, 'unavailable'],
    [{ code: '08006', message: 'connection failure' }, 'unavailable'],
    [{ code: '57014', message: 'canceling statement due to statement timeout' }, 'unavailable'],
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' }, 'unavailable'],
    [{ code: 'ECONNRESET', message: 'read ECONNRESET' }, 'unavailable'],
    [new Error('Connection terminated unexpectedly'), 'unavailable'],
    [new Error('Query read timeout'), 'unavailable'],
    [new Error('timeout exceeded when trying to connect'), 'unavailable'],
    [{ code: 'SQLITE_BUSY', message: 'database is locked' }, 'unavailable'],
    [{ code: '23505', message: 'duplicate key value' }, undefined],
    [{ code: 'SQLITE_CONSTRAINT_UNIQUE', message: 'UNIQUE constraint failed' }, undefined],
    [{ code: '42P01', message: 'relation does not exist' }, undefined],
    [new Error('cannot rollback - no transaction is active'), undefined],
  ])('%o is %s', (e, fault) => {
    expect(storeFault(e)).toBe(fault);
  });
});

describe('SQLite out of space (PRAGMA max_page_count: the real SQLITE_FULL code path)', () => {
  it('fault test 6: a full store answers storage_full (never "cannot rollback"), /readyz\'s check latches it until there is room again, and nothing committed is lost', async () => {
    const store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'palisade-full-')) });
    try {
      await store.migrate();
      const db = store.db;
      await sql`CREATE TABLE filler (id INTEGER PRIMARY KEY, b BLOB NOT NULL)`.execute(db);
      const pages = Number((await sql<{ page_count: number }>`PRAGMA page_count`.execute(db)).rows[0]!.page_count);
      await sql.raw(`PRAGMA max_page_count = ${pages + 8}`).execute(db);
      const queue = new SendQueue(db);
      const insert = (i: number) =>
        queue.enqueue((tx) => sql`INSERT INTO filler (id, b) VALUES (${i}, zeroblob(8192))`.execute(tx).then(() => i));
      const committed: number[] = [];
      let i = 0;
      let failure = 'none';
      while (failure === 'none' && i < 100) {
        const n = i++;
        failure = await insert(n).then(
          (v) => (committed.push(v), 'none'),
          (e: { code?: string; message?: string }) => e.code ?? String(e.message),
        );
      }
      expect(failure).toBe('storage_full');
      expect(committed.length).toBeGreaterThan(0);
      // A whole batch of writes fails fast with the same code (group commit does not retry each alone).
      expect(await Promise.all([insert(1000), insert(1001), insert(1002)].map(codeOf))).toEqual([
        'storage_full',
        'storage_full',
        'storage_full',
      ]);
      expect(await store.health(2000)).toMatchObject({ ok: false, code: 'storage_full' });
      // Reads go on working; the connection is not left inside a transaction.
      expect(Number((await sql<{ n: number }>`SELECT count(*) AS n FROM filler`.execute(db)).rows[0]!.n)).toBe(
        committed.length,
      );
      // Space returns: the check (read-only) clears the latch, writes succeed again.
      await sql.raw(`PRAGMA max_page_count = ${pages + 4096}`).execute(db);
      expect(await store.health(2000)).toEqual({ ok: true });
      expect(await insert(2000)).toBe(2000);
      const ids = (await sql<{ id: number }>`SELECT id FROM filler ORDER BY id`.execute(db)).rows.map((r) =>
        Number(r.id),
      );
      expect(ids).toEqual([...committed, 2000]);
      expect(
        (await sql<{ integrity_check: string }>`PRAGMA integrity_check`.execute(db)).rows[0]!.integrity_check,
      ).toBe('ok');
    } finally {
      await store.close();
    }
  });
});

(pgUp ? describe : describe.skip)('PostgreSQL link faults', () => {
  const schema = `palisade_guard_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const app = `palisade-guard-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}application_name=${app}`;
  const terminate = async () => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      return (
        await c.query<{ n: string }>(
          'SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1',
          [app],
        )
      ).rows[0]!.n;
    } finally {
      await c.end();
    }
  };
  afterAll(() => dropPostgresSchema(PG_URL, schema));

  it('fault test 5: terminated backends (idle and busy) never crash the process; a query in flight fails with unavailable, the next one succeeds', async () => {
    const store = await openStore({ url, dataDir: '.', schema, poolSize: 3, queryTimeoutMs: 2000 });
    try {
      await store.migrate();
      await Promise.all([1, 2, 3].map(() => sql`SELECT 1`.execute(store.db))); // three idle pooled clients
      expect(Number(await terminate())).toBeGreaterThan(0); // unhandled 'error' here used to end the process
      // An idle client's link was cut: the pool drops it and the next query opens a new one.
      await expect.poll(() => codeOf(sql`SELECT 1`.execute(store.db)), { timeout: 5000 }).toBe('ok');
      const busy = codeOf(sql`SELECT pg_sleep(5)`.execute(store.db));
      await expect.poll(async () => Number(await terminate()), { timeout: 5000 }).toBeGreaterThan(0);
      expect(await busy).toBe('unavailable');
      await expect.poll(() => codeOf(sql`SELECT 1`.execute(store.db)), { timeout: 5000 }).toBe('ok');
      expect(await store.health(2000)).toEqual({ ok: true });
    } finally {
      await store.close();
    }
  });

  it('a statement longer than store.queryTimeoutSeconds fails with unavailable instead of hanging', async () => {
    const store = await openStore({ url, dataDir: '.', schema, poolSize: 1, queryTimeoutMs: 1000 });
    try {
      expect(await codeOf(sql`SELECT pg_sleep(10)`.execute(store.db))).toBe('unavailable');
      expect(await codeOf(sql`SELECT 1`.execute(store.db))).toBe('ok');
    } finally {
      await store.close();
    }
  });

  it('a stalled link: queries fail with unavailable after the time limit, health() answers within its own, and the store recovers alone', async () => {
    const target = new URL(PG_URL);
    const proxy = await startStallProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = url.replace(`${target.hostname}:${target.port || 5432}`, `127.0.0.1:${proxy.port}`);
    const store = await openStore({ url: viaProxy, dataDir: '.', schema, poolSize: 2, queryTimeoutMs: 500 });
    try {
      await store.migrate();
      expect(await codeOf(sql`SELECT 1`.execute(store.db))).toBe('ok');
      proxy.stall();
      expect(await codeOf(sql`SELECT 1`.execute(store.db))).toBe('unavailable'); // query_timeout, not forever
      expect(await store.health(300)).toMatchObject({ ok: false, code: 'unavailable' });
      proxy.resume();
      await expect.poll(() => codeOf(sql`SELECT 1`.execute(store.db)), { timeout: 10_000 }).toBe('ok');
      await expect.poll(() => store.health(2000), { timeout: 10_000 }).toEqual({ ok: true });
    } finally {
      proxy.resume();
      await store.close();
      await proxy.close();
    }
  });
});
