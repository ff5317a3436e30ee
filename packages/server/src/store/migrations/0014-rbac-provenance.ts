import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Migration 0014_rbac_provenance (issue 8: S1, S3, S4, S11).
 * - users.created_by: who invited or created the account (two-person independence, S4).
 * - enrolment_tokens.approval_id / approved_by: an invite carrying admin roles waits for a second person (S3).
 * - sso_logins.begin_hash / begun_at / browser_hash / start_network: the browser that finishes the IdP
 *   step is the one the device opened, on the device's network (S1).
 * - role grants mapped from an IdP are marked `idp:<issuer>` so they can be withdrawn (S11).
 */
export function m0014RbacProvenance(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('users').addColumn('created_by', 'text').execute();
      // Accounts made from an invite: the invite's creator (null for bootstrap and offline CLI invites).
      await sql`UPDATE users SET created_by = (SELECT t.created_by FROM enrolment_tokens t WHERE t.used_by = users.id LIMIT 1)`.execute(
        db,
      );
      await db.schema.alterTable('enrolment_tokens').addColumn('approval_id', 'text').execute();
      await db.schema.alterTable('enrolment_tokens').addColumn('approved_by', 'text').execute();
      await db.schema.alterTable('sso_logins').addColumn('begin_hash', 'text').execute();
      await db.schema.alterTable('sso_logins').addColumn('begun_at', 'bigint').execute();
      await db.schema.alterTable('sso_logins').addColumn('browser_hash', 'text').execute();
      await db.schema.alterTable('sso_logins').addColumn('start_network', 'text').execute();
      // Grants of just-in-time provisioned SSO accounts made by nobody were mapped from the IdP's groups.
      await sql`UPDATE role_grants SET requested_by = (SELECT 'idp:' || e.issuer FROM external_identities e WHERE e.user_id = role_grants.user_id LIMIT 1)
        WHERE kind = 'standing' AND requested_by IS NULL AND approved_by IS NULL AND user_id IN (SELECT user_id FROM external_identities)`.execute(
        db,
      );
    },
  };
}
