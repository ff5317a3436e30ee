import { afterAll, describe, expect, it } from 'vitest';
import { PG_URL, pgUp } from '../test-support/with-all-stores.js';
import { dropPostgresSchema } from './postgres/driver.js';
import { openStore } from './store.js';

const d = pgUp ? describe : describe.skip;

d('PostgreSQL schemas sharing one database', () => {
  const tag = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const schemas = [
    `palisade_share_a_${tag}`,
    `palisade_share_b_${tag}`,
    `palisade_par_a_${tag}`,
    `palisade_par_b_${tag}`,
  ];
  afterAll(async () => {
    for (const s of schemas) await dropPostgresSchema(PG_URL, s);
  });

  it('migrates a second schema while the first already holds its migration tables', async () => {
    const first = await openStore({ url: PG_URL, dataDir: '.', schema: schemas[0], poolSize: 2 });
    const second = await openStore({ url: PG_URL, dataDir: '.', schema: schemas[1], poolSize: 2 });
    try {
      const a = await first.migrate();
      // The second schema must run every migration of its own, not skip them because the first exists.
      const b = await second.migrate();
      expect(b).toEqual(a);
      expect(b.length).toBeGreaterThan(0);
      // And each schema has its own users table.
      const rows = await second.db.selectFrom('users').select('id').execute();
      expect(rows).toEqual([]);
      expect(await second.migrate()).toEqual([]);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('migrates two fresh schemas of one database in parallel, each to the same complete set', async () => {
    const stores = await Promise.all(
      [schemas[2], schemas[3]].map((schema) => openStore({ url: PG_URL, dataDir: '.', schema, poolSize: 2 })),
    );
    try {
      const [a, b] = await Promise.all(stores.map((s) => s.migrate()));
      expect(a!.length).toBeGreaterThan(0);
      expect(b).toEqual(a);
      for (const s of stores) {
        expect(await s.db.selectFrom('users').select('id').execute()).toEqual([]);
        expect(await s.migrate()).toEqual([]);
      }
    } finally {
      for (const s of stores) await s.close();
    }
  });
});
