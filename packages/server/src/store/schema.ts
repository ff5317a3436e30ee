import type { BaseRoleName } from '@palisade/protocol';
import type { ColumnType, Generated, Kysely, Transaction } from 'kysely';
import type {
  ApprovalsTable,
  AuthenticatorsTable,
  DataKeysTable,
  DevicesTable,
  EnrolmentTokensTable,
  ExternalIdentitiesTable,
  LoginChallengesTable,
  PasskeysTable,
  RecoveryCodesTable,
  RoleGrantsTable,
  ServiceTokensTable,
  SessionsTable,
  SsoLoginsTable,
  WebauthnChallengesTable,
} from './schema-identity.js';

/** Milliseconds since the epoch, stored as a 64-bit integer. */
type Ms = number;

export interface UsersTable {
  id: string;
  username: string;
  /** Sealed (user scope). */
  display_name: string | null;
  /** Sealed (user scope). */
  email: string | null;
  /** Keyed blind index of the normalised e-mail, for exact lookup; set only once the address is verified (unique). */
  email_index: string | null;
  /** When the e-mail was verified (by an admin or the IdP); null: an unverified claim. */
  email_verified_at: ColumnType<Ms | null, Ms | null | undefined, Ms | null>;
  /** Consecutive wrong passwords since the last correct one. */
  password_failures: ColumnType<number, number | undefined, number>;
  password_hash: string;
  /** Base role: 'member', 'guest', or 'service' (a service account: no password login, scoped tokens). */
  role: BaseRoleName;
  disabled_at: Ms | null;
  created_at: Ms;
  /** Start of the second-factor enrolment grace (account creation, or an admin's factor reset). */
  mfa_grace_from: Ms;
  /** Who invited or created the account (a user id), or null (bootstrap, offline CLI, SSO, old rows). */
  created_by: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0023: locked by a containment until then (never by an admin: that is `disabled_at`). */
  locked_until: ColumnType<Ms | null, Ms | null | undefined, Ms | null>;
  /** Migration 0023: a service account's tokens are refused until then (containment). */
  suspended_until: ColumnType<Ms | null, Ms | null | undefined, Ms | null>;
  /** Migration 0023: logins need a second factor and sessions a new step-up until then (containment). */
  step_up_until: ColumnType<Ms | null, Ms | null | undefined, Ms | null>;
}

export interface ConversationsTable {
  id: string;
  kind: 'direct' | 'group';
  /** Sealed (conversation scope). */
  name: string | null;
  /** Sealed (conversation scope). */
  topic: string | null;
  /** For direct conversations: the two user ids sorted and joined, unique. */
  direct_key: string | null;
  last_seq: number;
  created_at: Ms;
}

export interface MembersTable {
  conversation_id: string;
  user_id: string;
  role: 'owner' | 'admin' | 'member';
  /** The conversation's last seq when this member joined; they see only later messages. */
  joined_seq: number;
  joined_at: Ms;
}

export interface MessagesTable {
  conversation_id: string;
  seq: number;
  sender_id: string;
  sender_device_id: string;
  client_msg_id: string;
  /** The payload, sealed (envelope encryption, conversation scope) when `sealed` is 1. */
  payload: Uint8Array;
  sealed: number;
  created_at: Ms;
  /** 'legacy' (before end-to-end encryption), 'mls' (application message) or 'commit' (MLS handshake). */
  kind: ColumnType<'legacy' | 'mls' | 'commit', 'legacy' | 'mls' | 'commit' | undefined, never>;
}

/** A device's uploaded MLS KeyPackage (MLSMessage bytes); `ref` is the hex KeyPackageRef. */
export interface KeyPackagesTable {
  ref: string;
  user_id: string;
  device_id: string;
  data: Uint8Array;
  /** 1: the device's last-resort package, handed out repeatedly and never deleted by a claim. */
  last_resort: number;
  /** The package's lifetime end (ms); expired packages are never handed out. */
  not_after: Ms;
  created_at: Ms;
}

/** A conversation's MLS group as the accepted commits left it. */
export interface MlsGroupsTable {
  conversation_id: string;
  group_id: Uint8Array;
  epoch: number;
  suite: string;
  /** MLSMessage GroupInfo of the current epoch (for external commits). */
  group_info: Uint8Array;
  updated_at: Ms;
}

/** A device the committers declared to be in a conversation's group. */
export interface MlsGroupDevicesTable {
  conversation_id: string;
  device_id: string;
  user_id: string;
}

/** A Welcome for one added device, kept until that device deletes it. */
export interface MlsWelcomesTable {
  id: string;
  conversation_id: string;
  device_id: string;
  /** Sequence number of the commit that added the device. */
  seq: number;
  data: Uint8Array;
  created_at: Ms;
}

export interface DeviceCursorsTable {
  device_id: string;
  conversation_id: string;
  delivered_seq: number;
}

export interface ReadCursorsTable {
  user_id: string;
  conversation_id: string;
  read_seq: number;
}

export interface OutboxTable {
  id: Generated<number>;
  type: string;
  data: string;
  created_at: Ms;
}

export interface AuditTable {
  id: Generated<number>;
  at: Ms;
  actor_id: string | null;
  action: string;
  target: string | null;
  /** Random row reference bound into the AAD of the sealed columns. */
  uid: string | null;
  /** Sealed (table scope). */
  address: string | null;
  outcome: 'success' | 'failure';
  /** JSON, sealed (table scope). */
  details: ColumnType<string, string | undefined, string>;
  /** Position in the audit hash chain (migration 0021): commit order, unique, gap-free. */
  chain_seq: number | null;
  /** Hash of the previous record in the chain (hex). */
  prev_hash: string | null;
  /** SHA-256 of prev_hash and this record's canonical encoding (hex); see audit/chain.ts. */
  hash: string | null;
  /** Drill id when drill traffic made the record. */
  drill: string | null;
}

/** Journal of long key jobs (re-encryption), so a restart resumes an unfinished one. */
export interface KeyJobsTable {
  id: string;
  kind: 'reencrypt' | 'legacy-seal';
  started_at: Ms;
  finished_at: Ms | null;
  report: string | null;
}

/** An organisation signing key (migration 0018): the Ed25519 seed sealed, the public key clear. */
export interface OrgSigningKeysTable {
  id: string;
  /** base64url raw public key. */
  public_key: string;
  /** Sealed (server scope, AAD `org_signing_keys.private_sealed:<id>`): the 32-byte seed, base64url. */
  private_sealed: string;
  created_at: Ms;
  retired_at: Ms | null;
  /** The key that endorsed this one, and its base64url signature over the endorsement message. */
  endorsed_by: string | null;
  endorsement: string | null;
}

/** The transparency log's single state row (id 1): size and latest signed head (JSON). */
export interface KtStateTable {
  id: number;
  tree_size: number;
  /** JSON [{size, hash (base64url)}]: the roots of the perfect subtrees, largest first. */
  frontier: string;
  head: string | null;
}

/** One leaf of the transparency log: a device credential (canonical JSON) and its RFC 9162 leaf hash. */
export interface KtLeavesTable {
  leaf_index: number;
  /** base64url SHA-256(0x00 || credential bytes). */
  leaf_hash: string;
  credential: string;
  user_id: string;
  device_id: string;
  created_at: Ms;
}

/** The latest tree head a device reported (gossip), with its device-key signature. */
export interface KtGossipTable {
  device_id: string;
  user_id: string;
  /** The signed head, canonical JSON. */
  head: string;
  signature: string;
  reported_at: Ms;
}

/** A response step a playbook ran or holds for approval (migration 0023). */
export interface ContainmentsTable {
  id: string;
  finding_id: string;
  rule_id: string;
  /** A `ResponseActionKind` of detect/types.ts. */
  action: string;
  subject_kind: string;
  /** A user id, or for an address or network the keyed blind index of its canonical prefix. */
  subject_id: string;
  /** Sealed (table scope, AAD `containments.subject_sealed:<id>`): the canonical prefix of an address or network subject. */
  subject_sealed: string | null;
  state: 'pending_approval' | 'active' | 'expired' | 'undone' | 'failed';
  /** How long it lasts once applied (null: until undone). */
  for_ms: number | null;
  created_at: Ms;
  applied_at: Ms | null;
  expires_at: Ms | null;
  approved_by: string | null;
  undone_at: Ms | null;
  /** A user id, `expiry`, or `dry_run`. */
  undone_by: string | null;
  drill: string | null;
  /** Why it failed or what it did (counts, ids; never secrets). */
  note: string | null;
}

/** An address or network block in force (migration 0023); deleted when its containment ends. */
export interface AddressBlocksTable {
  containment_id: string;
  /** Sealed (table scope, AAD `address_blocks.prefix:<containment_id>`): `a.b.c.d/32`, `a.b.c.0/24`, `2001:db8::/48`. */
  prefix: string;
  until: Ms | null;
  created_at: Ms;
}

/** A detection baseline (migration 0022): one streaming model per subject and metric, as JSON. */
export interface DetectBaselinesTable {
  /** `user:<id>`, `service:<id>` or `org`. */
  subject: string;
  metric: string;
  /** Sealed JSON (table scope `table:detect_baselines`). */
  state: string;
  updated_at: Ms;
}

/** A detection finding; explanation and evidence sealed (table scope `table:detect_findings`). */
export interface DetectFindingsTable {
  id: string;
  rule_id: string;
  severity: string;
  at: Ms;
  first_seen_at: Ms;
  subject_kind: string;
  subject_id: string;
  user_id: string | null;
  drill: string | null;
  /** Sealed. */
  explanation: string;
  /** Sealed JSON. */
  evidence: string;
}

/** Detection's small persisted facts (the audit feed cursor). */
export interface DetectStateTable {
  key: string;
  value: string;
}

/** Every table of the store, as Kysely sees it. */
export interface Database {
  users: UsersTable;
  enrolment_tokens: EnrolmentTokensTable;
  devices: DevicesTable;
  sessions: SessionsTable;
  conversations: ConversationsTable;
  members: MembersTable;
  messages: MessagesTable;
  device_cursors: DeviceCursorsTable;
  read_cursors: ReadCursorsTable;
  outbox: OutboxTable;
  audit_log: AuditTable;
  authenticators: AuthenticatorsTable;
  recovery_codes: RecoveryCodesTable;
  login_challenges: LoginChallengesTable;
  role_grants: RoleGrantsTable;
  approvals: ApprovalsTable;
  service_tokens: ServiceTokensTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
  sso_logins: SsoLoginsTable;
  external_identities: ExternalIdentitiesTable;
  data_keys: DataKeysTable;
  key_jobs: KeyJobsTable;
  key_packages: KeyPackagesTable;
  mls_groups: MlsGroupsTable;
  mls_group_devices: MlsGroupDevicesTable;
  mls_welcomes: MlsWelcomesTable;
  org_signing_keys: OrgSigningKeysTable;
  kt_state: KtStateTable;
  kt_leaves: KtLeavesTable;
  kt_gossip: KtGossipTable;
  audit_chain_head: AuditChainHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_keys: AuditKeysTable;
  alerts: AlertsTable;
  alert_deliveries: AlertDeliveriesTable;
  containments: ContainmentsTable;
  address_blocks: AddressBlocksTable;
  detect_baselines: DetectBaselinesTable;
  detect_findings: DetectFindingsTable;
  detect_state: DetectStateTable;
}

/** The query builder domain code uses. */
export type Db = Kysely<Database>;
/** A query builder bound to one open transaction. */
export type Tx = Transaction<Database>;
/** Either: a use case that accepts `Executor` works inside or outside a transaction. */
export type Executor = Db | Tx;

/** The audit chain's head (migration 0021): one row, id 1. */
export interface AuditChainHeadTable {
  id: number;
  seq: number;
  hash: string;
  /** 1 once records from before migration 0021 are chained (migration 0025). */
  legacy_done: number;
}

/** A signed audit checkpoint: the audit key's Ed25519 signature over (seq, hash, at). */
export interface AuditCheckpointsTable {
  seq: number;
  hash: string;
  at: Ms;
  key_id: string;
  /** base64url. */
  signature: string;
}

/** An Ed25519 audit key; the seed sealed (audit_log scope), the public key clear (base64url). */
export interface AuditKeysTable {
  id: string;
  public_key: string;
  seed_sealed: string;
  created_at: Ms;
}

/** An alert (migration 0024): findings grouped by rule and subject; explanation and evidence sealed. */
export interface AlertsTable {
  id: string;
  group_key: string;
  rule_id: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  title: string;
  subject_kind: string;
  subject_id: string;
  /** Sealed (scope `table:alerts`, AAD `alerts.explanation:<id>`). */
  explanation: string;
  /** JSON, sealed (scope `table:alerts`, AAD `alerts.evidence:<id>`). */
  evidence: string;
  state: 'open' | 'acknowledged' | 'resolved';
  first_at: Ms;
  last_at: Ms;
  count: number;
  /** When deliveries were last enqueued, and at which severity (de-duplication window). */
  notified_at: Ms;
  notified_severity: 'low' | 'medium' | 'high' | 'critical';
  acknowledged_by: string | null;
  acknowledged_at: Ms | null;
  resolved_by: string | null;
  resolved_at: Ms | null;
  /** Sealed (scope `table:alerts`, AAD `alerts.resolution_note:<id>`). */
  resolution_note: string | null;
  drill: string | null;
}

/** One alert to send on one channel (migration 0024): the durable delivery queue. */
export interface AlertDeliveriesTable {
  id: string;
  alert_id: string;
  /** The configured channel's name. */
  channel: string;
  state: 'pending' | 'delivered' | 'dead';
  attempts: ColumnType<number, number | undefined, number>;
  created_at: Ms;
  next_at: Ms;
  delivered_at: Ms | null;
  /** The last failure, in words (never a secret). */
  last_error: string | null;
}
