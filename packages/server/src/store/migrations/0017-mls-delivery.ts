import { type Kysely, type Migration } from 'kysely';
import type { DialectQuirks } from './quirks.js';

/**
 * Migration 0017_mls_delivery (issue 10: the MLS delivery service and KeyPackage directory).
 * - key_packages: each device's uploaded KeyPackages (MLSMessage bytes), one-time or last resort.
 * - mls_groups: one MLS group per conversation, its epoch, suite and latest GroupInfo.
 * - mls_group_devices: the devices the committers declared to be in the group.
 * - mls_welcomes: a Welcome per added device, until the device deletes it.
 * - messages.kind: 'legacy' for every row before this migration, then 'mls' or 'commit'.
 */
export function m0017MlsDelivery(q: DialectQuirks): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('key_packages')
        .addColumn('ref', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('data', q.binaryType, (c) => c.notNull())
        .addColumn('last_resort', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('not_after', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('key_packages_device')
        .on('key_packages')
        .columns(['device_id', 'last_resort', 'created_at'])
        .execute();
      await db.schema
        .createTable('mls_groups')
        .addColumn('conversation_id', 'text', (c) => c.primaryKey())
        .addColumn('group_id', q.binaryType, (c) => c.notNull())
        .addColumn('epoch', 'bigint', (c) => c.notNull())
        .addColumn('suite', 'text', (c) => c.notNull())
        .addColumn('group_info', q.binaryType, (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('mls_group_devices')
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('mls_group_devices_pk', ['conversation_id', 'device_id'])
        .execute();
      await db.schema
        .createTable('mls_welcomes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('data', q.binaryType, (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mls_welcomes_device').on('mls_welcomes').columns(['device_id', 'seq']).execute();
      await db.schema
        .alterTable('messages')
        .addColumn('kind', 'text', (c) => c.notNull().defaultTo('legacy'))
        .execute();
    },
  };
}
