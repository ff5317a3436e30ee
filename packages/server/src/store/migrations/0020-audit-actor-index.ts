import { type Kysely, type Migration } from 'kysely';

/**
 * Migration 0020_audit_actor_index (issue 11, login cost): an index on `audit_log (actor_id, action, at)`.
 * Risk scoring reads one user's recent logins from the audit log on every password login; without it
 * that was a scan of the whole log on the event loop, growing with the log (SQLite: 7.9 ms a query at
 * 200,000 rows; 65-73 ms of server CPU per login at 1,000,000 rows, 18-20 ms with the index). With it,
 * a range search of that user's login records only (an account with many other audited actions, such
 * as a bot, does not slow its logins either).
 */
export function m0020AuditActorIndex(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('audit_log_actor_action_at')
        .on('audit_log')
        .columns(['actor_id', 'action', 'at'])
        .execute();
    },
  };
}
