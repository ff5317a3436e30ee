import fc from 'fast-check';
import { sql, type KyselyPlugin } from 'kysely';
import { expect, it } from 'vitest';
import { withAllStores } from '../test-support/with-all-stores.js';
import { prepared } from './prepared.js';

// One argument used twice, one constant list, one plain argument: the three ways a slot can appear.
const probe = prepared<[a: string, b: number], { a: string; twice: string; b: number; roles: number }>(
  2,
  (a, b) =>
    sql`SELECT CAST(${a} AS TEXT) AS a, CAST(${a} AS TEXT) || CAST(${a} AS TEXT) AS twice, CAST(${b} AS INTEGER) AS b,
      (SELECT count(*) FROM (SELECT 1 AS x WHERE 'owner' IN (${sql.join(['owner', 'admin'])})) AS s) AS roles`,
);

withAllStores('prepared statements', (h) => {
  it('binds each call’s values where the placeholders stand, keeps constants, inside and outside a transaction', async () => {
    const db = h.get().db;
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 40 }).filter((s) => !s.includes('\u0000')),
        fc.integer(),
        async (a, b) => {
          const direct = (await probe(db, a, b)).rows[0];
          const inTx = await db.transaction().execute(async (tx) => (await probe(tx, a, b)).rows[0]);
          for (const row of [direct, inTx]) {
            expect(row?.a).toBe(a);
            expect(row?.twice).toBe(a + a);
            expect(Number(row?.b)).toBe(b);
            expect(Number(row?.roles)).toBe(1);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('runs the plugins’ hooks for each call, as for a query compiled then (the query-timing metric sees it)', async () => {
    const started: unknown[] = [];
    const finished: unknown[] = [];
    const plugin: KyselyPlugin = {
      transformQuery: (a) => (started.push(a.queryId), a.node),
      transformResult: (a) => (finished.push(a.queryId), Promise.resolve(a.result)),
    };
    const db = h.get().db.withPlugin(plugin);
    await probe(db, 'x', 1);
    await db.transaction().execute((tx) => probe(tx, 'y', 2));
    const ours = started.filter((id) => finished.includes(id));
    expect(ours.length).toBeGreaterThanOrEqual(2);
  });
});
