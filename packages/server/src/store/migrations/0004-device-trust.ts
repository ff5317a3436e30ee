import { sql, type Kysely, type Migration } from 'kysely';

/** Migration 0004_device_trust. */
export function m0004DeviceTrust(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('devices').addColumn('approved_at', 'bigint').execute();
      await db.schema.alterTable('devices').addColumn('last_address', 'text').execute();
      await sql`UPDATE devices SET approved_at = created_at`.execute(db);
    },
  };
}
