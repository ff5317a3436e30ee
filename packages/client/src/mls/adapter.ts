/**
 * Our own small interface over an MLS (RFC 9420) implementation, so the library underneath (ts-mls
 * today) can be replaced without touching the rest of the SDK. Every value that crosses it is plain
 * bytes or numbers; group state is an immutable snapshot, and every operation returns a new one that
 * the caller saves before it acts on the result.
 */

/** The MLS cipher suites Palisade offers. The first is the default. */
export const MLS_SUITES = [
  'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
  'MLS_256_XWING_AES256GCM_SHA512_Ed25519',
] as const;
export type MlsSuiteName = (typeof MLS_SUITES)[number];

/** This device as an MLS member: its signed Palisade credential and its Ed25519 device key. */
export interface DeviceIdentity {
  /** The organisation-signed device credential (protocol `encodeDeviceCredential`), the MLS basic identity. */
  credential: Uint8Array;
  /** The device key's 32-byte Ed25519 secret: the MLS signature key IS the device key. */
  signatureSecret: Uint8Array;
  /** Its public key (32 bytes). */
  signaturePublic: Uint8Array;
}

/** One leaf of a group's tree. */
export interface MlsMember {
  leafIndex: number;
  /** The member's credential bytes (basic identity). */
  credential: Uint8Array;
  signatureKey: Uint8Array;
}

/** A group at one epoch. Immutable: operations return a new snapshot. */
export interface MlsGroup {
  readonly groupId: Uint8Array;
  readonly epoch: number;
  readonly ownLeafIndex: number;
  readonly suite: MlsSuiteName;
  members(): MlsMember[];
  /** The whole state (secrets included) for the device's encrypted store. */
  encode(): Uint8Array;
}

/** A KeyPackage made for the directory, and the private half the device keeps until it is used. */
export interface GeneratedKeyPackage {
  /** MLSMessage-encoded KeyPackage, as uploaded. */
  keyPackage: Uint8Array;
  /** Hex KeyPackageRef (RFC 9420 section 5.2), how a Welcome names it. */
  ref: string;
  /**
   * Opaque private half: keep it encrypted, delete it once used (unless it is the last resort).
   * SECURITY: it includes the device's signature secret (the library needs it to join), so it is as
   * sensitive as the device key.
   */
  secret: Uint8Array;
}

/** What a commit produced. Send `commit` (and `welcome`, `groupInfo`) before using `group`. */
export interface MlsCommitResult {
  group: MlsGroup;
  commit: Uint8Array;
  welcome?: Uint8Array;
  /** A GroupInfo with the ratchet tree and external public key, for re-joins by external commit. */
  groupInfo: Uint8Array;
}

/** The result of processing one incoming handshake or application message. */
export type MlsIncoming =
  | { kind: 'application'; group: MlsGroup; plaintext: Uint8Array; sender: MlsMember }
  /**
   * `removed` holds the leaves as they were before the commit (this device's own leaf if it was
   * removed: the returned group then refuses every operation with 'not_member'). A device that
   * re-joined by external commit (resync) is in both lists. `sender` is absent for external commits.
   */
  | { kind: 'commit'; group: MlsGroup; added: MlsMember[]; removed: MlsMember[]; sender?: MlsMember }
  | { kind: 'proposal'; group: MlsGroup };

/** Header facts of an MLS message that can be read without any key (what the server checks). */
export interface MlsPeek {
  wireformat: 'private_message' | 'public_message' | 'welcome' | 'group_info' | 'key_package';
  groupId?: Uint8Array;
  epoch?: number;
  contentType?: 'application' | 'proposal' | 'commit';
}

/** Stable codes for MLS failures (never a library's message). */
export type MlsErrorCode =
  | 'decode' // not a well-formed MLS message
  | 'wrong_group'
  | 'wrong_epoch' // for an epoch this device does not have (missed commit, or too old)
  | 'replay' // a generation already used, or a message seen before
  | 'credential_refused' // the authentication service refused a member
  | 'not_member' // this device is not (or no longer) in the group
  | 'no_key_package' // a Welcome for a KeyPackage this device does not hold
  | 'invalid'; // anything else the protocol rejects

/** An MLS failure with a stable code. */
export class MlsError extends Error {
  constructor(
    readonly code: MlsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MlsError';
  }
}

/**
 * Decides whether a member may be in a group: called for every leaf the library accepts (own leaf,
 * adds, commits, Welcomes, external joins). SECURITY: it must check the credential against the
 * organisation key AND the key directory and transparency log; the library's default accepts anything.
 */
export type CredentialValidator = (credential: Uint8Array, signatureKey: Uint8Array) => Promise<boolean>;

/** The MLS operations the SDK uses. */
export interface MlsAdapter {
  readonly suite: MlsSuiteName;
  generateKeyPackage(identity: DeviceIdentity, lifetimeSeconds: number): Promise<GeneratedKeyPackage>;
  /** A new group at epoch 0 holding only this device. */
  createGroup(groupId: Uint8Array, identity: DeviceIdentity): Promise<MlsGroup>;
  /** One commit that adds these KeyPackages and removes these leaves. */
  commit(group: MlsGroup, change: { add: Uint8Array[]; remove: number[] }): Promise<MlsCommitResult>;
  /** Joins from a Welcome, using the private half of the KeyPackage it names. */
  joinFromWelcome(
    welcome: Uint8Array,
    findSecret: (ref: string) => Uint8Array | undefined,
  ): Promise<{ group: MlsGroup; usedRef: string }>;
  /** Joins (or re-joins, replacing this device's old leaf) by external commit from a published GroupInfo. */
  joinExternal(groupInfo: Uint8Array, identity: DeviceIdentity): Promise<{ group: MlsGroup; commit: Uint8Array }>;
  /**
   * Encrypts one application message. SECURITY: a snapshot encrypts once; encrypting again from the
   * same snapshot throws MlsError('invalid') (it would reuse a ratchet generation): use the returned group.
   */
  encrypt(group: MlsGroup, plaintext: Uint8Array): Promise<{ group: MlsGroup; message: Uint8Array }>;
  /**
   * Processes one handshake or application message. Throws MlsError: decode, wrong_group,
   * wrong_epoch (a later epoch, or one whose keys are gone), replay, credential_refused, not_member,
   * invalid. A failure leaves `group` usable (nothing is consumed).
   */
  process(group: MlsGroup, message: Uint8Array): Promise<MlsIncoming>;
  /** A fresh GroupInfo (ratchet tree, external public key) of this group, for re-joins by external commit. */
  groupInfo(group: MlsGroup): Promise<Uint8Array>;
  /** The credential and signature key of a KeyPackage's leaf, to check before adding it. Throws MlsError('decode'). */
  keyPackageLeaf(keyPackage: Uint8Array): { credential: Uint8Array; signatureKey: Uint8Array };
  /** Restores a snapshot saved with `encode()`. */
  decodeGroup(bytes: Uint8Array): MlsGroup;
  /** Reads a message's header without keys. Throws MlsError('decode'). */
  peek(message: Uint8Array): MlsPeek;
}
