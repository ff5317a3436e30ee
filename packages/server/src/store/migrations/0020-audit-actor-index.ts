import { type Kysely, type Migration } from 'kysely';

/**
 * Migration 0020_audit_actor_index (issue 11, login cost): an index on `audit_log (actor_id, at)`.
 * Risk scoring reads one user's recent logins from the audit log on every password login; without it
 * that was a scan of the whole log (7.9 ms at 200,000 rows on SQLite, growing with the log, on the
 * event loop), with it a range search of that user's rows.
 */
export function m0020AuditActorIndex(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('audit_log_actor_at').on('audit_log').columns(['actor_id', 'at']).execute();
    },
  };
}
