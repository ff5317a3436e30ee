import { type Kysely, type Migration } from 'kysely';

/**
 * Migration 0023_containments (issue 12 item 4: automatic response).
 * - containments: one row per response step a playbook ran (or holds for approval): its finding, rule,
 *   action, subject, state and times; the history stays after undo or expiry.
 *   Address and network subjects are sealed (`subject_sealed`, table scope); `subject_id` then holds
 *   their keyed blind index, so containments of one subject are still found by equality.
 * - address_blocks: the blocks in force (an address as /32 or /128, or a network prefix), one per
 *   containment; the row is deleted when the containment is undone or expires.
 * - users.locked_until / suspended_until / step_up_until: what the active containments of a user add up
 *   to (recomputed from them on every change); kept apart from `disabled_at`, which only an admin sets.
 */
export function m0023Containments(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('containments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('finding_id', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('subject_kind', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('subject_sealed', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('for_ms', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('applied_at', 'bigint')
        .addColumn('expires_at', 'bigint')
        .addColumn('approved_by', 'text')
        .addColumn('undone_at', 'bigint')
        .addColumn('undone_by', 'text')
        .addColumn('drill', 'text')
        .addColumn('note', 'text')
        .execute();
      await db.schema.createIndex('containments_state').on('containments').columns(['state', 'expires_at']).execute();
      await db.schema
        .createIndex('containments_subject')
        .on('containments')
        .columns(['action', 'subject_id'])
        .execute();
      await db.schema.createIndex('containments_finding').on('containments').column('finding_id').execute();
      await db.schema
        .createTable('address_blocks')
        .addColumn('containment_id', 'text', (c) => c.primaryKey())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('until', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      for (const column of ['locked_until', 'suspended_until', 'step_up_until'])
        await db.schema.alterTable('users').addColumn(column, 'bigint').execute();
    },
  };
}
