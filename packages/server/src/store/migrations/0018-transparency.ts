import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Migration 0018_transparency (issue 10: organisation-signed device credentials, key transparency).
 * - org_signing_keys: the organisation's Ed25519 signing keys; the seed sealed (server scope), the
 *   public key clear; a successor is endorsed by the key it replaced; retired keys stay published.
 * - kt_state: one row (id 1) holding the log's size, its compact frontier (perfect-subtree roots) and its latest signed head; the append updates it
 *   first, which serialises appends on PostgreSQL (row lock) as SQLite's single writer does.
 * - kt_leaves: the append-only log, one leaf per device credential (unique device), dense indexes.
 * - kt_gossip: the latest head each device reported, signed by its device key.
 */
export function m0018Transparency(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('org_signing_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('private_sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .addColumn('endorsed_by', 'text')
        .addColumn('endorsement', 'text')
        .execute();
      await db.schema
        .createTable('kt_state')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('tree_size', 'bigint', (c) => c.notNull())
        .addColumn('frontier', 'text', (c) => c.notNull())
        .addColumn('head', 'text')
        .execute();
      await sql`INSERT INTO kt_state (id, tree_size, frontier, head) VALUES (1, 0, '[]', NULL)`.execute(db);
      await db.schema
        .createTable('kt_leaves')
        .addColumn('leaf_index', 'bigint', (c) => c.primaryKey())
        .addColumn('leaf_hash', 'text', (c) => c.notNull())
        .addColumn('credential', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('kt_leaves_user').on('kt_leaves').column('user_id').execute();
      await db.schema
        .createTable('kt_gossip')
        .addColumn('device_id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('head', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('reported_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('kt_gossip_user').on('kt_gossip').column('user_id').execute();
    },
  };
}
