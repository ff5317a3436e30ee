import { type Kysely, type Migration } from 'kysely';

/**
 * Migration 0012_sealed_metadata: e-mail (sealed) with its keyed blind index, conversation topics, and
 * a random row reference for audit records (their AAD must name the row before its id exists), and
 * the key-job journal.
 * Existing clear values are sealed in place by the server at start (keys module, legacy pass).
 */
export function m0012SealedMetadata(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('users').addColumn('email', 'text').execute();
      await db.schema.alterTable('users').addColumn('email_index', 'text').execute();
      await db.schema.createIndex('users_email_index').unique().on('users').column('email_index').execute();
      await db.schema.alterTable('conversations').addColumn('topic', 'text').execute();
      await db.schema.alterTable('audit_log').addColumn('uid', 'text').execute();
      // Long key jobs (re-encryption), so a restart resumes an unfinished one.
      await db.schema
        .createTable('key_jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .addColumn('report', 'text')
        .execute();
    },
  };
}
