import { z } from 'zod';
import { B64Url, Id } from './common.js';

/**
 * Key transparency wire contract: the signed tree head of the credential log, proofs, the key
 * directory, the organisation keys and head gossip between a user's own devices.
 */

/** Most user ids one directory lookup may name. */
export const MAX_DIRECTORY_USERS = 100;
/** Most hashes in one proof (a tree of 2^62 leaves needs at most 2 * 62). */
export const MAX_PROOF_HASHES = 128;
/** Largest tree size or leaf index on the wire. */
const MAX_TREE_SIZE = 2 ** 48;

const Hash = B64Url(43).length(43);
const Signature = B64Url(86).length(86);
const Size = z.number().int().min(0).max(MAX_TREE_SIZE);

/** A tree head the organisation key signed: the log had `treeSize` leaves with root `rootHash`. */
export const SignedTreeHead = z.strictObject({
  treeSize: Size,
  /** base64url of the 32-byte RFC 9162 root hash (SHA-256 of the empty string for an empty tree). */
  rootHash: Hash,
  /** ISO 8601 UTC time of signing. */
  timestamp: z.iso.datetime(),
  keyId: Id,
  /** base64url Ed25519 signature by org key `keyId` over {@link treeHeadSigningMessage}. */
  signature: Signature,
});
export type SignedTreeHead = z.infer<typeof SignedTreeHead>;

/** The fields of a tree head the organisation signs. */
export type UnsignedTreeHead = Omit<SignedTreeHead, 'signature'>;

/**
 * The exact text the organisation key signs for a tree head.
 * SECURITY: its own context string, so a head signature is never valid as a credential or an endorsement.
 */
export function treeHeadSigningMessage(h: UnsignedTreeHead): string {
  return `palisade-kt-head-v1:${JSON.stringify({
    treeSize: h.treeSize,
    rootHash: h.rootHash,
    timestamp: h.timestamp,
    keyId: h.keyId,
  })}`;
}

/** Canonical JSON of a whole signed head (fixed key order), as gossip signs it. */
export function canonicalTreeHead(h: SignedTreeHead): string {
  return JSON.stringify({
    treeSize: h.treeSize,
    rootHash: h.rootHash,
    timestamp: h.timestamp,
    keyId: h.keyId,
    signature: h.signature,
  });
}

/** The text a device key signs to report a head it saw to the user's other devices. */
export function gossipSigningMessage(h: SignedTreeHead): string {
  return `palisade-kt-gossip-v1:${canonicalTreeHead(h)}`;
}

/** The text the previous organisation key signs to endorse its successor. */
export function orgKeyEndorsementMessage(keyId: string, publicKey: string): string {
  return `palisade-org-key-endorsement-v1:${keyId}:${publicKey}`;
}

/** One organisation signing key as published (retired keys stay, so old credentials still verify). */
export const OrgKeyView = z.strictObject({
  keyId: Id,
  /** base64url raw Ed25519 public key. */
  publicKey: Hash,
  createdAt: z.iso.datetime(),
  retiredAt: z.iso.datetime().optional(),
  /** Signature by the key this one replaced over {@link orgKeyEndorsementMessage}; absent on the first key. */
  endorsement: z.strictObject({ keyId: Id, signature: Signature }).optional(),
});
export type OrgKeyView = z.infer<typeof OrgKeyView>;

/** GET /v1/e2ee/org-keys, oldest first. */
export const OrgKeysResponse = z.strictObject({ keys: z.array(OrgKeyView).max(1000) });
export type OrgKeysResponse = z.infer<typeof OrgKeysResponse>;

const Proof = z.array(Hash).max(MAX_PROOF_HASHES);

/** POST /v1/e2ee/credential: the caller's device credential, its log position and proof. */
export const IssueCredentialResponse = z.strictObject({
  /** base64url of the canonical credential bytes. */
  credential: B64Url(2048),
  leafIndex: Size,
  head: SignedTreeHead,
  inclusion: Proof,
});
export type IssueCredentialResponse = z.infer<typeof IssueCredentialResponse>;

/** GET /v1/e2ee/directory?userIds=a,b (comma-separated, at most {@link MAX_DIRECTORY_USERS}). */
export const DirectoryQuery = z.strictObject({
  userIds: z
    .string()
    .min(1)
    .max(MAX_DIRECTORY_USERS * 65)
    .transform((s) => [...new Set(s.split(','))])
    .pipe(z.array(Id).min(1).max(MAX_DIRECTORY_USERS)),
});
export type DirectoryQuery = z.infer<typeof DirectoryQuery>;

/** A device in the key directory: its credential and where the log holds it. */
export const DirectoryDevice = z.strictObject({ deviceId: Id, credential: B64Url(2048), leafIndex: Size });
export type DirectoryDevice = z.infer<typeof DirectoryDevice>;

/** Answer of the directory: users the caller may see, each with its active credentialed devices. */
export const DirectoryResponse = z.strictObject({
  head: SignedTreeHead,
  users: z
    .array(z.strictObject({ userId: Id, username: z.string().max(64), devices: z.array(DirectoryDevice).max(1000) }))
    .max(MAX_DIRECTORY_USERS),
});
export type DirectoryResponse = z.infer<typeof DirectoryResponse>;

const QueryInt = z
  .string()
  .max(16)
  .regex(/^(0|[1-9][0-9]*)$/, 'a decimal integer')
  .transform(Number)
  .pipe(Size);

/** GET /v1/e2ee/kt/inclusion?leafIndex=&treeSize= */
export const InclusionQuery = z.strictObject({ leafIndex: QueryInt, treeSize: QueryInt });
export type InclusionQuery = z.infer<typeof InclusionQuery>;

/** GET /v1/e2ee/kt/consistency?from=&to= */
export const ConsistencyQuery = z.strictObject({ from: QueryInt, to: QueryInt });
export type ConsistencyQuery = z.infer<typeof ConsistencyQuery>;

/** Answer of the inclusion and consistency routes: the RFC 9162 proof, base64url hashes. */
export const ProofResponse = z.strictObject({ proof: Proof });
export type ProofResponse = z.infer<typeof ProofResponse>;

/** POST /v1/e2ee/kt/gossip: the latest head this device saw, signed by its device key. */
export const GossipRequest = z.strictObject({
  head: SignedTreeHead,
  /** base64url Ed25519 signature by the device key over {@link gossipSigningMessage}. */
  signature: Signature,
});
export type GossipRequest = z.infer<typeof GossipRequest>;

/** One head another device of the caller reported. */
export const GossipEntry = z.strictObject({
  deviceId: Id,
  head: SignedTreeHead,
  signature: Signature,
  reportedAt: z.iso.datetime(),
});
export type GossipEntry = z.infer<typeof GossipEntry>;

/** GET /v1/e2ee/kt/gossip: the heads the caller's other active devices reported. */
export const GossipResponse = z.strictObject({ heads: z.array(GossipEntry).max(1000) });
export type GossipResponse = z.infer<typeof GossipResponse>;
