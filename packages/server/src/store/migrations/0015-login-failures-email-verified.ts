import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Migration 0015_login_failures_email_verified (S7, S14).
 * - `users.password_failures`: consecutive wrong passwords since the last correct one (the baseline's
 *   per-authenticator failure counter; it feeds risk scoring and detection, it never locks anyone out).
 * - `users.email_verified_at`: when the e-mail address was verified (an admin who checked it, or the
 *   IdP's `email_verified`). Only a verified address holds the unique, searchable `email_index`: the
 *   addresses stored so far were never verified, so their index is cleared and they become claims.
 */
export function m0015LoginFailuresEmailVerified(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('users')
        .addColumn('password_failures', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('users').addColumn('email_verified_at', 'bigint').execute();
      await sql`UPDATE users SET email_index = NULL`.execute(db);
    },
  };
}
