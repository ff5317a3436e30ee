import { sql, type Kysely, type Migration } from 'kysely';

/** The dialect quirks a migration needs; everything else is written once. */
export interface DialectQuirks {
  name: 'sqlite' | 'postgres';
  binaryType: 'blob' | 'bytea';
  autoIdColumn: (b: import('kysely').ColumnDefinitionBuilder) => import('kysely').ColumnDefinitionBuilder;
}

/** Versioned migrations, applied in name order, shared by both databases. */
export function migrations(q: DialectQuirks): Record<string, Migration> {
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('username', 'text', (c) => c.notNull().unique())
          .addColumn('display_name', 'text')
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('disabled_at', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('enrolment_tokens')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .addColumn('used_by', 'text')
          .execute();
        await db.schema
          .createTable('devices')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('public_key', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('platform', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .addUniqueConstraint('devices_user_key', ['user_id', 'public_key'])
          .execute();
        await db.schema
          .createTable('sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();
        await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
        await db.schema
          .createTable('conversations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('name', 'text')
          .addColumn('direct_key', 'text', (c) => c.unique())
          .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('members')
          .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('joined_seq', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('joined_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('members_pk', ['conversation_id', 'user_id'])
          .execute();
        await db.schema.createIndex('members_user').on('members').column('user_id').execute();
        await db.schema
          .createTable('messages')
          .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('sender_id', 'text', (c) => c.notNull())
          .addColumn('sender_device_id', 'text', (c) => c.notNull())
          .addColumn('client_msg_id', 'text', (c) => c.notNull())
          .addColumn('payload', q.binaryType, (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('messages_pk', ['conversation_id', 'seq'])
          .addUniqueConstraint('messages_idempotency', ['conversation_id', 'sender_id', 'client_msg_id'])
          .execute();
        await db.schema
          .createTable('device_cursors')
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('conversation_id', 'text', (c) => c.notNull())
          .addColumn('delivered_seq', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('device_cursors_pk', ['device_id', 'conversation_id'])
          .execute();
        await db.schema
          .createTable('read_cursors')
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('conversation_id', 'text', (c) => c.notNull())
          .addColumn('read_seq', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('read_cursors_pk', ['user_id', 'conversation_id'])
          .execute();
        await db.schema
          .createTable('outbox')
          .addColumn('id', q.name === 'sqlite' ? 'integer' : 'bigserial', q.autoIdColumn)
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('audit_log')
          .addColumn('id', q.name === 'sqlite' ? 'integer' : 'bigserial', q.autoIdColumn)
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('actor_id', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target', 'text')
          .addColumn('address', 'text')
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('details', 'text', (c) => c.notNull().defaultTo(sql`'{}'`))
          .execute();
      },
    },
    '0002_mfa': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('sessions').addColumn('aal', 'integer', (c) => c.notNull().defaultTo(1)).execute();
        await db.schema.alterTable('sessions').addColumn('strong_auth_at', 'bigint').execute();
        await db.schema
          .createTable('authenticators')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('label', 'text', (c) => c.notNull())
          .addColumn('secret_sealed', 'text', (c) => c.notNull())
          .addColumn('last_used_step', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('last_failure_at', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('confirmed_at', 'bigint')
          .addColumn('disabled_at', 'bigint')
          .execute();
        await db.schema.createIndex('authenticators_user').on('authenticators').column('user_id').execute();
        await db.schema
          .createTable('recovery_codes')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('code_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .execute();
        await db.schema.createIndex('recovery_codes_user').on('recovery_codes').column('user_id').execute();
        await db.schema
          .createTable('login_challenges')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('device_public_key', 'text', (c) => c.notNull())
          .addColumn('device_name', 'text', (c) => c.notNull())
          .addColumn('device_platform', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .execute();
      },
    },
    '0003_roles': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('users').addColumn('mfa_grace_from', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
        await sql`UPDATE users SET mfa_grace_from = created_at`.execute(db);
        await db.schema.alterTable('enrolment_tokens').addColumn('grants', 'text', (c) => c.notNull().defaultTo('[]')).execute();
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
              VALUES (${`${a.id}-${role}`}, ${a.id}, ${role}, 'standing', 'migrated from the admin role', ${now}, ${now})`.execute(db);
          }
        }
        await sql`UPDATE users SET role = 'member' WHERE role = 'admin'`.execute(db);
        await sql`UPDATE enrolment_tokens SET grants = '["org_admin","security_admin"]', role = 'member' WHERE role = 'admin'`.execute(db);
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
    },
    '0004_device_trust': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('devices').addColumn('approved_at', 'bigint').execute();
        await db.schema.alterTable('devices').addColumn('last_address', 'text').execute();
        await sql`UPDATE devices SET approved_at = created_at`.execute(db);
      },
    },
    '0005_service_accounts': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('service_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addColumn('allowed_addresses', 'text')
          .addColumn('rate_per_minute', 'integer', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .addColumn('last_used_at', 'bigint')
          .execute();
      },
    },
    '0006_session_network': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('sessions').addColumn('login_address', 'text').execute();
      },
    },
    '0007_passkeys': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('passkeys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('public_key', 'text', (c) => c.notNull())
          .addColumn('counter', 'bigint', (c) => c.notNull())
          .addColumn('transports', 'text', (c) => c.notNull())
          .addColumn('device_bound', 'integer', (c) => c.notNull())
          .addColumn('label', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint')
          .execute();
        await db.schema.createIndex('passkeys_user').on('passkeys').column('user_id').execute();
        await db.schema
          .createTable('webauthn_challenges')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text')
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('challenge', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .execute();
        await db.schema.alterTable('login_challenges').addColumn('webauthn_challenge_id', 'text').execute();
      },
    },
    '0008_sso': {
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
    },
    '0009_strong_auth_method': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('sessions').addColumn('strong_auth_method', 'text').execute();
      },
    },
  };
}