import type { Sealer } from '../crypto/index.js';

/**
 * The one list of what the server keeps sealed at rest: for each column, how its AAD names the place
 * it belongs to (table, column, row) and which scope's data key seals it. Domain modules seal and
 * open with the helpers below (the same `aadOf` the list uses), and the re-encryption walker (reseal.ts) walks this list, so adding a
 * sealed column here is what makes rotation, `--reencrypt` and the legacy pass cover it.
 */

/** AAD of a value: table, column and row, e.g. `users.email:<id>`. */
export const aadOf = (table: string, column: string, row: string): string => `${table}.${column}:${row}`;

/** Seals a column value under `scope` (prepared: see `Sealer.sealText`); AAD names table, column and row. */
export function sealColumn(
  sealer: Sealer,
  table: string,
  column: string,
  rowId: string,
  value: string,
  scope: string,
): string;
export function sealColumn(
  sealer: Sealer,
  table: string,
  column: string,
  rowId: string,
  value: string | null | undefined,
  scope: string,
): string | null;
export function sealColumn(
  sealer: Sealer,
  table: string,
  column: string,
  rowId: string,
  value: string | null | undefined,
  scope: string,
): string | null {
  return value == null ? null : sealer.sealText(value, aadOf(table, column, rowId), scope);
}

/** Seals a column value under its table's own data key (one of TABLE_SCOPES, loaded at start). */
export function sealInTable(sealer: Sealer, table: string, column: string, rowId: string, value: string): string {
  return sealColumn(sealer, table, column, rowId, value, scopeOf.table(table));
}

/** Opens a value sealed by `sealColumn` or `sealInTable` (null stays null). */
export function openColumn(
  sealer: Sealer,
  table: string,
  column: string,
  rowId: string,
  sealed: string,
): Promise<string>;
export function openColumn(
  sealer: Sealer,
  table: string,
  column: string,
  rowId: string,
  sealed: string | null,
): Promise<string | null>;
export async function openColumn(
  sealer: Sealer,
  table: string,
  column: string,
  rowId: string,
  sealed: string | null,
): Promise<string | null> {
  return sealed === null ? null : sealer.openText(sealed, aadOf(table, column, rowId));
}

/** Data-key scopes: per user and per conversation (crypto-shredding units), per table for server data. */
export const scopeOf = {
  user: (id: string) => `user:${id}`,
  conversation: (id: string) => `conversation:${id}`,
  table: (name: string) => `table:${name}`,
  server: 'server',
} as const;

/** AAD of a message payload (row key: conversation, sender, client message id). */
export const payloadAad = (conversationId: string, senderId: string, clientMsgId: string): string =>
  `messages.payload:${conversationId}:${senderId}:${clientMsgId}`;

/** AAD of an audit column; records written before migration 0012 have no uid and use their id. */
export const auditAad = (column: 'address' | 'details', uid: string | null, id: number): string =>
  aadOf('audit_log', column, uid ?? `#${id}`);

type Row = Record<string, unknown>;
const s = (v: unknown) => String(v);

/** One sealed column. */
export interface SealedField {
  table: string;
  column: string;
  /** Primary-key columns (keyset paging and the guarded update). */
  key: string[];
  /** Further columns the AAD or scope needs. */
  with: string[];
  aad(row: Row): string;
  scope(row: Row): string;
  /** Stored as the bytes of the sealed text, only where `sealed = 1` (message payloads). */
  binary?: true;
}

const byId = (table: string, column: string, scope: (r: Row) => string, extra: string[] = []): SealedField => ({
  table,
  column,
  key: ['id'],
  with: extra,
  aad: (r) => aadOf(table, column, s(r.id)),
  scope,
});
const userOf = (r: Row) => scopeOf.user(s(r.user_id));

/** Every sealed column. What is not here stays clear: ids, sequence numbers, times, hashes, enums. */
export const SEALED_FIELDS: readonly SealedField[] = [
  {
    table: 'messages',
    column: 'payload',
    key: ['conversation_id', 'seq'],
    with: ['sender_id', 'client_msg_id'],
    binary: true,
    aad: (r) => payloadAad(s(r.conversation_id), s(r.sender_id), s(r.client_msg_id)),
    scope: (r) => scopeOf.conversation(s(r.conversation_id)),
  },
  byId('users', 'display_name', (r) => scopeOf.user(s(r.id))),
  byId('users', 'email', (r) => scopeOf.user(s(r.id))),
  byId('conversations', 'name', (r) => scopeOf.conversation(s(r.id))),
  byId('conversations', 'topic', (r) => scopeOf.conversation(s(r.id))),
  byId('authenticators', 'secret_sealed', userOf, ['user_id']),
  byId('authenticators', 'label', userOf, ['user_id']),
  byId('passkeys', 'label', userOf, ['user_id']),
  byId('devices', 'name', userOf, ['user_id']),
  byId('devices', 'last_address', userOf, ['user_id']),
  byId('sessions', 'login_address', userOf, ['user_id']),
  byId('sso_logins', 'secrets_sealed', () => scopeOf.server),
  byId('org_signing_keys', 'private_sealed', () => scopeOf.server),
  byId('audit_keys', 'seed_sealed', () => scopeOf.table('audit_log')),
  byId('sso_logins', 'device_name', () => scopeOf.table('sso_logins')),
  byId('role_grants', 'reason', () => scopeOf.table('role_grants')),
  byId('approvals', 'reason', () => scopeOf.table('approvals')),
  byId('approvals', 'params', () => scopeOf.table('approvals')),
  {
    table: 'login_challenges',
    column: 'device_name',
    key: ['token_hash'],
    with: [],
    aad: (r) => aadOf('login_challenges', 'device_name', s(r.token_hash)),
    scope: () => scopeOf.table('login_challenges'),
  },
  {
    table: 'audit_log',
    column: 'address',
    key: ['id'],
    with: ['uid'],
    aad: (r) => auditAad('address', r.uid as string | null, Number(r.id)),
    scope: () => scopeOf.table('audit_log'),
  },
  {
    table: 'audit_log',
    column: 'details',
    key: ['id'],
    with: ['uid'],
    aad: (r) => auditAad('details', r.uid as string | null, Number(r.id)),
    scope: () => scopeOf.table('audit_log'),
  },
  byId('alerts', 'explanation', () => scopeOf.table('alerts')),
  byId('alerts', 'evidence', () => scopeOf.table('alerts')),
  byId('alerts', 'resolution_note', () => scopeOf.table('alerts')),
  byId('containments', 'subject_sealed', () => scopeOf.table('containments')),
  {
    table: 'address_blocks',
    column: 'prefix',
    key: ['containment_id'],
    with: [],
    aad: (r) => aadOf('address_blocks', 'prefix', s(r.containment_id)),
    scope: () => scopeOf.table('address_blocks'),
  },
  byId('detect_findings', 'explanation', () => scopeOf.table('detect_findings')),
  byId('detect_findings', 'evidence', () => scopeOf.table('detect_findings')),
  {
    table: 'detect_baselines',
    column: 'state',
    key: ['subject', 'metric'],
    with: [],
    aad: (r) => aadOf('detect_baselines', 'state', `${s(r.subject)}/${s(r.metric)}`),
    scope: () => scopeOf.table('detect_baselines'),
  },
];

/** Table scopes, loaded at start: values in them are sealed inside transactions. */
export const TABLE_SCOPES = [
  'audit_log',
  'login_challenges',
  'sso_logins',
  'role_grants',
  'approvals',
  'alerts',
  'detect_findings',
  'detect_baselines',
  'containments',
  'address_blocks',
].map(scopeOf.table);
