/**
 * What the end-to-end layer needs from the server, the key-transparency checks and local storage,
 * as structural interfaces: the SDK's `MlsApi`, `DirectoryApi`, `KeyTransparency` and state stores
 * implement them, and a test can play a malicious server by implementing them itself.
 */

/** The server's view of a conversation's MLS group. */
export interface GroupStatus {
  groupId: Uint8Array | null;
  epoch: number | null;
  suite: string | null;
  /** Active devices of current members. */
  entitled: { userId: string; deviceId: string }[];
  inGroup: string[];
  missing: string[];
  stale: string[];
}

/** One Welcome waiting for this device. */
export interface PendingWelcome {
  id: string;
  conversationId: string;
  /** Seq of the commit that added this device: messages up to it are not for it. */
  seq: number;
  welcome: Uint8Array;
}

/** The delivery service (server routes of the `e2ee` module). */
export interface DeliveryPort {
  uploadKeyPackages(
    pkgs: { keyPackage: Uint8Array; lastResort?: boolean }[],
  ): Promise<{ stock: number; lastResort: boolean }>;
  keyPackageStock(): Promise<{ stock: number; lastResort: boolean }>;
  claimKeyPackages(
    deviceIds: string[],
  ): Promise<{ packages: { userId: string; deviceId: string; keyPackage: Uint8Array }[]; missing: string[] }>;
  groupStatus(conversationId: string): Promise<GroupStatus>;
  commit(
    conversationId: string,
    c: {
      epoch: number;
      commit: Uint8Array;
      welcome?: Uint8Array;
      groupInfo: Uint8Array;
      added: string[];
      removed: string[];
      suite?: string;
      external?: boolean;
    },
  ): Promise<{ seq: number; epoch: number }>;
  groupInfo(conversationId: string): Promise<{ groupInfo: Uint8Array; epoch: number }>;
  welcomes(): Promise<PendingWelcome[]>;
  deleteWelcome(id: string): Promise<void>;
}

/** A user's devices as the key directory lists them. */
export interface DirectoryUser {
  userId: string;
  username: string;
  devices: { deviceId: string; credential: Uint8Array; leafIndex: number }[];
}

/** The key directory and credential issuance (server routes of the `transparency` module). */
export interface DirectoryPort {
  issueCredential(): Promise<{ credential: Uint8Array; leafIndex: number }>;
  directory(userIds: string[]): Promise<{ users: DirectoryUser[] }>;
}

/** The transparency checks (client `KeyTransparency`). */
export interface TransparencyPort {
  /** Verifies the credential's organisation signature, its key, and its inclusion in the log. Throws on failure. */
  verifyCredential(credential: Uint8Array, signatureKey: Uint8Array, leafIndex: number): Promise<unknown>;
}

/** A message as the server stores it (history pages and live frames), payload as bytes. */
export interface StoredMessage {
  conversationId: string;
  seq: number;
  senderId: string;
  senderDeviceId: string;
  kind: 'legacy' | 'mls' | 'commit';
  payload: Uint8Array;
  sentAt: string;
}

/** Reading stored messages (the HTTP history route). */
export interface HistoryPort {
  after(conversationId: string, afterSeq: number, limit: number): Promise<StoredMessage[]>;
}

/** The live path for application messages: resolves with the seq after the server committed it. */
export type SendPort = (conversationId: string, payload: Uint8Array) => Promise<number>;

/** The part of a `StateStore` the end-to-end layer uses (all writes of one step go in one `putMany`). */
export interface LocalStore {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Atomic: all entries or none; `undefined` deletes. */
  putMany(entries: [string, Uint8Array | undefined][]): Promise<void>;
  keys(prefix: string): Promise<string[]>;
}
