import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrations } from './migrations/index.js';
import { postgresQuirks } from './postgres/driver.js';
import { sqliteQuirks } from './sqlite/driver.js';
import { openStore } from './index.js';
import { dropPostgresSchema, postgresReachable } from './postgres/driver.js';
import { PG_URL } from '../test-support/with-all-stores.js';

const pgUp = await postgresReachable(PG_URL);

/** Migration 0017 on a store that already holds a message: that message becomes kind 'legacy'. */
describe('migration 0017_mls_delivery', () => {
  for (const kind of ['sqlite', 'postgres'] as const) {
    (kind === 'postgres' && !pgUp ? it.skip : it)(
      `marks existing messages legacy and adds the MLS tables [${kind}]`,
      async () => {
        const schema = `palisade_m17_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
        const store =
          kind === 'sqlite'
            ? await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'palisade-m17-')) })
            : await openStore({ url: PG_URL, dataDir: '.', schema, poolSize: 2 });
        try {
          const db = store.db as unknown as Kysely<unknown>;
          const q = kind === 'sqlite' ? sqliteQuirks : postgresQuirks;
          const migrator = new Migrator({
            db,
            ...(kind === 'postgres' ? { migrationTableSchema: schema } : {}),
            provider: { getMigrations: () => Promise.resolve(migrations(q)) },
          });
          const before = await migrator.migrateTo('0016_sso_loopback');
          expect(before.error).toBeUndefined();
          await store.db
            .insertInto('conversations')
            .values({ id: 'c1', kind: 'group', name: null, topic: null, direct_key: null, last_seq: 1, created_at: 1 })
            .execute();
          await store.db
            .insertInto('messages')
            .values({
              conversation_id: 'c1',
              seq: 1,
              sender_id: 'u1',
              sender_device_id: 'd1',
              client_msg_id: 'm1',
              payload: new Uint8Array([1]),
              sealed: 0,
              created_at: 1,
            })
            .execute();
          expect((await store.migrate())[0]).toBe('0017_mls_delivery');
          const rows = await store.db.selectFrom('messages').select(['seq', 'kind']).execute();
          expect(rows.map((r) => [Number(r.seq), r.kind])).toEqual([[1, 'legacy']]);
          for (const t of ['key_packages', 'mls_groups', 'mls_group_devices', 'mls_welcomes'] as const)
            expect(await store.db.selectFrom(t).selectAll().execute()).toEqual([]);
        } finally {
          await store.close();
          if (kind === 'postgres') await dropPostgresSchema(PG_URL, schema);
        }
      },
    );
  }
});
