import { type Kysely, type Migration } from 'kysely';

/** Migration 0006_session_network. */
export function m0006SessionNetwork(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('sessions').addColumn('login_address', 'text').execute();
    },
  };
}
