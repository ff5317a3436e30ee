import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { openStore, type Store } from '../store/index.js';
import { dropPostgresSchema, postgresReachable } from '../store/postgres/driver.js';

/** The PostgreSQL server the conformance suite uses. */
export const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REQUIRE = process.env.PALISADE_REQUIRE_SERVICES === '1';
/** True when the test PostgreSQL server answers (checked once per test process). */
export const pgUp = await postgresReachable(PG_URL);
if (!pgUp) {
  const msg = `PostgreSQL is not reachable at ${PG_URL}`;
  if (REQUIRE) throw new Error(`${msg}, and PALISADE_REQUIRE_SERVICES=1: start it or set PALISADE_TEST_PG_URL.`);
  console.warn(`${msg}: skipping the PostgreSQL half of the store conformance suite.`);
}

/** A store handle for one suite; `get()` is valid between beforeAll and afterAll. */
export interface StoreHandle {
  get(): Store;
  kind: 'sqlite' | 'postgres';
}

/**
 * Runs the same suite against SQLite (a fresh file) and PostgreSQL (a fresh schema per run, dropped
 * after), so every store test proves both databases behave alike.
 */
export function withAllStores(name: string, suite: (h: StoreHandle) => void): void {
  for (const kind of ['sqlite', 'postgres'] as const) {
    const d = kind === 'postgres' && !pgUp ? describe.skip : describe;
    d(`${name} [${kind}]`, () => {
      let store: Store | undefined;
      const schema = `palisade_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
      beforeAll(async () => {
        store =
          kind === 'sqlite'
            ? await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'palisade-store-')) })
            : await openStore({ url: PG_URL, dataDir: '.', schema, poolSize: 8 });
        await store.migrate();
      });
      afterAll(async () => {
        await store?.close();
        if (kind === 'postgres') await dropPostgresSchema(PG_URL, schema);
      });
      suite({ get: () => store as Store, kind });
    });
  }
}
