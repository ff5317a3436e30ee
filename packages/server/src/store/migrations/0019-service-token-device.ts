import { type Kysely, type Migration } from 'kysely';

/**
 * Migration 0019_service_token_device (issue 10: bots as MLS members): a service token may be bound to a
 * device (the bot's own device key); null for unbound tokens, which keep their old behaviour.
 */
export function m0019ServiceTokenDevice(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('service_tokens')
        .addColumn('device_id', 'text', (c) => c.references('devices.id'))
        .execute();
    },
  };
}
