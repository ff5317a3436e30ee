import { sql, type Kysely, type Migration } from 'kysely';

/** Migration 0003_roles. */
export function m0003Roles(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('users')
        .addColumn('mfa_grace_from', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`UPDATE users SET mfa_grace_from = created_at`.execute(db);
      await db.schema
        .alterTable('enrolment_tokens')
        .addColumn('grants', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await db.schema
        .createTable('role_grants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text')
        .addColumn('approved_by', 'text')
        .addColumn('approved_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('role_grants_user').on('role_grants').column('user_id').execute();
      // Administrators of the first schema become members holding both administrative roles.
      const now = Date.now();
      const admins = await sql<{ id: string }>`SELECT id FROM users WHERE role = 'admin'`.execute(db);
      for (const a of admins.rows) {
        for (const role of ['org_admin', 'security_admin']) {
          await sql`INSERT INTO role_grants (id, user_id, role, kind, reason, approved_at, created_at)
            VALUES (${`${a.id}-${role}`}, ${a.id}, ${role}, 'standing', 'migrated from the admin role', ${now}, ${now})`.execute(
            db,
          );
        }
      }
      await sql`UPDATE users SET role = 'member' WHERE role = 'admin'`.execute(db);
      await sql`UPDATE enrolment_tokens SET grants = '["org_admin","security_admin"]', role = 'member' WHERE role = 'admin'`.execute(
        db,
      );
      await db.schema
        .createTable('approvals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('approved_by', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('decided_at', 'bigint')
        .execute();
    },
  };
}
