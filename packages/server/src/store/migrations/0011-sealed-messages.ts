import { type Kysely, type Migration } from 'kysely';

/** Migration 0011_sealed_messages: a flag telling sealed payloads from payloads stored as received. */
export function m0011SealedMessages(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('messages')
        .addColumn('sealed', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  };
}
