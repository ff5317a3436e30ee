import { type Kysely, type Migration } from 'kysely';

/** Migration 0010_data_keys: per-scope data keys wrapped by the KMS. */
export function m0010DataKeys(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('data_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('kek_version', 'integer', (c) => c.notNull())
        .addColumn('wrapped', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .addColumn('destroyed_at', 'bigint')
        .execute();
      await db.schema.createIndex('data_keys_scope').on('data_keys').column('scope').execute();
    },
  };
}
