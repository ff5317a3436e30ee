import { type Kysely, type Migration } from 'kysely';

/**
 * Migration 0016_sso_loopback (issue 8: S1, RFC 8252 loopback completion).
 * - sso_logins.loopback_redirect: where the callback sends the browser (the starting device's loopback
 *   listener, `http://127.0.0.1:<port>/palisade-sso`); null for a sign-on without loopback.
 * - sso_logins.completion_hash: SHA-256 of the one-time completion secret handed to that listener; the
 *   device must show the secret to collect its session.
 */
export function m0016SsoLoopback(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('sso_logins').addColumn('loopback_redirect', 'text').execute();
      await db.schema.alterTable('sso_logins').addColumn('completion_hash', 'text').execute();
    },
  };
}
