import { z } from 'zod';
import { B64Url, Id, Seq } from './common.js';
import { MAX_PAYLOAD_BYTES } from './limits.js';

/**
 * The MLS delivery service and KeyPackage directory (RFC 9420): request bodies, answers and frames.
 * Every MLS structure travels as base64url (no padding) of its MLSMessage encoding; the server only
 * decodes public headers and never sees a plaintext or an MLS secret.
 */

/** The cipher suites the server accepts, the first being the default. */
export const MLS_SERVER_SUITES = [
  'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
  'MLS_256_XWING_AES256GCM_SHA512_Ed25519',
] as const;
/** One of {@link MLS_SERVER_SUITES}. */
export const MlsSuite = z.enum(MLS_SERVER_SUITES);
export type MlsSuite = z.infer<typeof MlsSuite>;

/** Largest KeyPackage (MLSMessage bytes) the directory stores. */
export const MAX_KEY_PACKAGE_BYTES = 4096;
/** Most KeyPackages in one upload. */
export const MAX_KEY_PACKAGES_PER_UPLOAD = 100;
/** Most devices in one claim. */
export const MAX_CLAIM_DEVICES = 200;
/** Below this many one-time packages a device is told to upload more (`key_packages_low`). */
export const KEY_PACKAGE_LOW_WATER = 10;
/** Longest KeyPackage lifetime (notAfter - notBefore) the directory accepts. */
export const MAX_KEY_PACKAGE_LIFETIME_MS = 90 * 24 * 3_600_000;

/** base64url length of `bytes` bytes without padding. */
const b64Len = (bytes: number) => Math.ceil((bytes * 4) / 3);
/** An MLS structure: base64url of at most `maxBytes` bytes, at least one byte. */
const MlsBytes = (maxBytes: number) => B64Url(b64Len(maxBytes)).min(2);

/** `POST /v1/mls/key-packages`. */
export const UploadKeyPackagesRequest = z.strictObject({
  packages: z
    .array(z.strictObject({ keyPackage: MlsBytes(MAX_KEY_PACKAGE_BYTES), lastResort: z.boolean().optional() }))
    .min(1)
    .max(MAX_KEY_PACKAGES_PER_UPLOAD),
});
export type UploadKeyPackagesRequest = z.infer<typeof UploadKeyPackagesRequest>;

/** A device's directory stock: one-time packages still usable, and whether it has a last-resort one. */
export interface KeyPackageStock {
  stock: number;
  lastResort: boolean;
}

/** `POST /v1/mls/key-packages/claim`. */
export const ClaimKeyPackagesRequest = z.strictObject({
  deviceIds: z.array(Id).min(1).max(MAX_CLAIM_DEVICES),
});
export type ClaimKeyPackagesRequest = z.infer<typeof ClaimKeyPackagesRequest>;

/** The answer of a claim: one package per device that had one; the other device ids in `missing`. */
export interface ClaimKeyPackagesResponse {
  packages: { userId: string; deviceId: string; keyPackage: string }[];
  missing: string[];
}

/** `GET /v1/conversations/:id/mls`: the group as the committers declared it, against who should be in it. */
export interface MlsGroupStatus {
  /** base64url group id, null while no group exists. */
  groupId: string | null;
  epoch: number | null;
  suite: MlsSuite | null;
  /** Active (not revoked) devices of the current members. */
  entitled: { userId: string; deviceId: string }[];
  inGroup: string[];
  /** Entitled devices not in the group: add them. */
  missing: string[];
  /** Devices in the group that are not entitled (revoked, or their user left): remove them. */
  stale: string[];
}

/** `POST /v1/conversations/:id/mls/commit`. */
export const MlsCommitRequest = z.strictObject({
  /** The epoch the commit was made in (0 creates the group). */
  epoch: Seq,
  /** MLSMessage (PublicMessage or PrivateMessage) of content type commit; stored as a message. */
  commit: MlsBytes(MAX_PAYLOAD_BYTES),
  welcome: MlsBytes(MAX_PAYLOAD_BYTES).optional(),
  /** MLSMessage GroupInfo of the new epoch (for external commits). */
  groupInfo: MlsBytes(MAX_PAYLOAD_BYTES),
  added: z.array(Id).max(1000),
  removed: z.array(Id).max(1000),
  /** Only when creating the group (epoch 0, no group yet). */
  suite: MlsSuite.optional(),
  /** An external commit (a device re-joining, or joining, through the GroupInfo). */
  external: z.literal(true).optional(),
});
export type MlsCommitRequest = z.infer<typeof MlsCommitRequest>;

/** The answer of an accepted commit: its message sequence number and the group's new epoch. */
export interface MlsCommitResponse {
  seq: number;
  epoch: number;
}

/** `GET /v1/conversations/:id/mls/group-info`. */
export interface MlsGroupInfoResponse {
  groupInfo: string;
  epoch: number;
}

/** A Welcome waiting for this device (`GET /v1/mls/welcomes` and the `welcome` frame). */
export interface WelcomeView {
  id: string;
  conversationId: string;
  /** Sequence number of the commit that added the device. */
  seq: number;
  /** base64url MLSMessage welcome. */
  welcome: string;
}

/** Path parameters holding a welcome id. */
export const WelcomeParams = z.strictObject({ id: Id });

/** The group id every conversation's MLS group must use. */
export function mlsGroupIdOf(conversationId: string): Uint8Array {
  return new TextEncoder().encode(`palisade:${conversationId}`);
}
