import { type Kysely, type Migration } from 'kysely';

/**
 * Migration 0022_detect (issue 12: detection engine and behaviour baselines).
 * - detect_baselines: one streaming model per subject (`user:<id>`, `org`, `service:<id>`) and metric,
 *   its state JSON sealed (table scope: it names the networks a user was seen from).
 * - detect_findings: what the rules found; explanation and evidence sealed (table scope), the rest clear
 *   so findings can be listed by rule, time and drill.
 * - detect_state: small key/value facts such as the audit feed cursor.
 */
export function m0022Detect(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('detect_baselines')
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('detect_baselines_pk', ['subject', 'metric'])
        .execute();
      await db.schema
        .createTable('detect_findings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('subject_kind', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('drill', 'text')
        .addColumn('explanation', 'text', (c) => c.notNull())
        .addColumn('evidence', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('detect_findings_rule_at').on('detect_findings').columns(['rule_id', 'at']).execute();
      await db.schema.createIndex('detect_findings_at').on('detect_findings').column('at').execute();
      await db.schema
        .createTable('detect_state')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
