import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Migration 0021_audit_chain (issue 12, tamper-evident audit log).
 * - audit_log gains `chain_seq` (position in the hash chain: commit order, unique, gap-free), `prev_hash`
 *   and `hash` (hex SHA-256), and `drill` (the drill id of drill traffic, else null).
 * - audit_chain_head: one row (id 1) with the last chained seq and hash; every append updates it first,
 *   which serialises appends in commit order on PostgreSQL (row lock) as SQLite's single writer does.
 * - audit_checkpoints: signed (seq, hash, at) statements by an audit key.
 * - audit_keys: the Ed25519 audit keys; the seed sealed by the envelope sealer, the public key clear.
 * Records written before this migration are chained on first start (audit `prepareAuditChain`), because
 * their hashes need the audit key's MAC key, which only the running server can open.
 */
export function m0021AuditChain(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('audit_log').addColumn('chain_seq', 'bigint').execute();
      await db.schema.alterTable('audit_log').addColumn('prev_hash', 'text').execute();
      await db.schema.alterTable('audit_log').addColumn('hash', 'text').execute();
      await db.schema.alterTable('audit_log').addColumn('drill', 'text').execute();
      await db.schema.createIndex('audit_log_chain_seq').unique().on('audit_log').column('chain_seq').execute();
      await db.schema
        .createTable('audit_chain_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await sql`INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, ${'0'.repeat(64)})`.execute(db);
      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('seed_sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
