import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Migration 0013_factors_passkey_assurance (S19, S20): each passkey records its AAGUID and why it
 * gives the assurance it gives; expiry indexes let the sweeper purge stale challenge rows.
 * SECURITY: passkeys registered before this migration were never attested (attestation "none"), so
 * their self-asserted "device-bound" flag is withdrawn: they give AAL2 until re-registered.
 */
export function m0013FactorsPasskeyAssurance(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('passkeys')
        .addColumn('aal_reason', 'text', (c) => c.notNull().defaultTo('attestation_none'))
        .execute();
      await db.schema.alterTable('passkeys').addColumn('aaguid', 'text').execute();
      await sql`UPDATE passkeys SET aal_reason = CASE WHEN device_bound = 1 THEN 'attestation_none' ELSE 'backup_eligible' END, device_bound = 0`.execute(
        db,
      );
      await db.schema
        .createIndex('webauthn_challenges_expires')
        .on('webauthn_challenges')
        .column('expires_at')
        .execute();
      await db.schema.createIndex('login_challenges_user').on('login_challenges').column('user_id').execute();
      await db.schema.createIndex('login_challenges_expires').on('login_challenges').column('expires_at').execute();
      await db.schema.createIndex('sso_logins_expires').on('sso_logins').column('expires_at').execute();
    },
  };
}
