import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Migration 0025_audit_legacy_flag (issue 12, security review): records written before migration 0021
 * are chained once, at the first start after it, and never again.
 * - audit_chain_head.legacy_done: 1 once they are (at once when there are none). Before, every
 *   checkpoint and every first record of a process chained any row found outside the chain, so a row
 *   inserted by someone with write access to the database joined the chain and was signed.
 * - audit_log.uid is unique: a second row may not borrow a record's sealed fields through its uid.
 */
export function m0025AuditLegacyFlag(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('audit_chain_head')
        .addColumn('legacy_done', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`UPDATE audit_chain_head SET legacy_done = 1
        WHERE NOT EXISTS (SELECT 1 FROM audit_log WHERE chain_seq IS NULL)`.execute(db);
      await db.schema.createIndex('audit_log_uid').unique().on('audit_log').column('uid').execute();
    },
  };
}
