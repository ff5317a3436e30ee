import { type Kysely, type Migration } from 'kysely';

/** Migration 0009_strong_auth_method. */
export function m0009StrongAuthMethod(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('sessions').addColumn('strong_auth_method', 'text').execute();
    },
  };
}
