import { type Kysely, type Migration } from 'kysely';

/** Migration 0008_sso. */
export function m0008Sso(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('sso_logins')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('state_hash', 'text', (c) => c.notNull().unique())
        .addColumn('secrets_sealed', 'text', (c) => c.notNull())
        .addColumn('device_public_key', 'text', (c) => c.notNull())
        .addColumn('device_name', 'text', (c) => c.notNull())
        .addColumn('device_platform', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('aal', 'integer')
        .addColumn('completed_at', 'bigint')
        .execute();
      await db.schema
        .createTable('external_identities')
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('external_identities_pk', ['issuer', 'subject'])
        .execute();
    },
  };
}
