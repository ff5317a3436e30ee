import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Migration 0024_alerts (issue 12: alerts and their durable delivery).
 * - alerts: findings grouped by rule and subject while open; explanation and evidence sealed
 *   (table scope `table:alerts`, AAD `alerts.<column>:<id>`); who acknowledged or resolved, and when.
 * - alert_deliveries: one row per alert and channel to notify, written in the alert's transaction;
 *   the delivery worker sends those due (`state = 'pending'`, `next_at <= now`) and backs off.
 */
export function m0024Alerts(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('group_key', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('subject_kind', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('explanation', 'text', (c) => c.notNull())
        .addColumn('evidence', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('first_at', 'bigint', (c) => c.notNull())
        .addColumn('last_at', 'bigint', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('notified_at', 'bigint', (c) => c.notNull())
        .addColumn('notified_severity', 'text', (c) => c.notNull())
        .addColumn('acknowledged_by', 'text')
        .addColumn('acknowledged_at', 'bigint')
        .addColumn('resolved_by', 'text')
        .addColumn('resolved_at', 'bigint')
        .addColumn('resolution_note', 'text')
        .addColumn('drill', 'text')
        .execute();
      // One unresolved alert per group: concurrent findings of a new group cannot open two.
      await db.schema
        .createIndex('alerts_unresolved_group')
        .on('alerts')
        .column('group_key')
        .unique()
        .where(sql.ref('state'), '<>', 'resolved')
        .execute();
      await db.schema.createIndex('alerts_last_at').on('alerts').column('last_at').execute();
      await db.schema
        .createTable('alert_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('next_at', 'bigint', (c) => c.notNull())
        .addColumn('delivered_at', 'bigint')
        .addColumn('last_error', 'text')
        .execute();
      await db.schema
        .createIndex('alert_deliveries_due')
        .on('alert_deliveries')
        .columns(['state', 'next_at'])
        .execute();
      await db.schema.createIndex('alert_deliveries_alert').on('alert_deliveries').column('alert_id').execute();
    },
  };
}
