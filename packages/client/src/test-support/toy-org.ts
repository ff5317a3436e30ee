/* eslint-disable @typescript-eslint/require-await -- the ports are async by contract; this in-memory stand-in answers at once */
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  credentialSigningMessage,
  encodeDeviceCredential,
  treeHeadSigningMessage,
  type DeviceCredential,
  type OrgKeyView,
  type SignedTreeHead,
} from '@palisade/protocol';
import { toBase64Url, utf8 } from '../bytes.js';
import { leafHash, nodeHash, EMPTY_ROOT } from '../e2ee/merkle.js';
import type { TransparencySource } from '../e2ee/transparency.js';

/** The RFC 9162 root of leaves [lo, hi). */
function root(leaves: Uint8Array[], lo = 0, hi = leaves.length): Uint8Array {
  if (hi - lo === 0) return EMPTY_ROOT;
  if (hi - lo === 1) return leafHash(leaves[lo]!);
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return nodeHash(root(leaves, lo, lo + k), root(leaves, lo + k, hi));
}

/** RFC 9162 section 2.1.3.1 PATH(m, D[n]). */
function path(m: number, leaves: Uint8Array[], lo: number, hi: number): Uint8Array[] {
  if (hi - lo <= 1) return [];
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return m < k
    ? [...path(m, leaves, lo, lo + k), root(leaves, lo + k, hi)]
    : [...path(m - k, leaves, lo + k, hi), root(leaves, lo, lo + k)];
}

/** RFC 9162 section 2.1.4.1 SUBPROOF(m, D[n], b). */
function subproof(m: number, leaves: Uint8Array[], lo: number, hi: number, b: boolean): Uint8Array[] {
  const n = hi - lo;
  if (m === n) return b ? [] : [root(leaves, lo, hi)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m <= k
    ? [...subproof(m, leaves, lo, lo + k, b), root(leaves, lo + k, hi)]
    : [...subproof(m - k, leaves, lo + k, hi, false), root(leaves, lo, lo + k)];
}

/**
 * A toy organisation for SDK tests that play the server: an org signing key, credential issuance and
 * an RFC 9162 log with signed heads and proofs. `forge*` methods misbehave on purpose.
 */
export class ToyOrg implements TransparencySource {
  readonly secret = ed25519.utils.randomSecretKey();
  readonly keyId = 'org-1';
  readonly leaves: Uint8Array[] = [];
  private readonly created = new Date().toISOString();

  async orgKeys(): Promise<OrgKeyView[]> {
    return [{ keyId: this.keyId, publicKey: toBase64Url(ed25519.getPublicKey(this.secret)), createdAt: this.created }];
  }

  /** A credential for a device, signed by `secret` (the org key unless a test forges one), not yet logged. */
  credential(userId: string, deviceId: string, publicKey: Uint8Array, secret = this.secret): Uint8Array {
    const unsigned: Omit<DeviceCredential, 'signature'> = {
      v: 1,
      userId,
      username: userId,
      deviceId,
      signatureKey: toBase64Url(publicKey),
      issuedAt: new Date().toISOString(),
      keyId: this.keyId,
    };
    const signature = toBase64Url(ed25519.sign(utf8(credentialSigningMessage(unsigned)), secret));
    return encodeDeviceCredential({ ...unsigned, signature });
  }

  /** Appends a credential to the log; returns its leaf index. */
  log(credential: Uint8Array): number {
    this.leaves.push(credential);
    return this.leaves.length - 1;
  }

  headOf(leaves: Uint8Array[]): SignedTreeHead {
    const unsigned = {
      treeSize: leaves.length,
      rootHash: toBase64Url(root(leaves)),
      timestamp: new Date().toISOString(),
      keyId: this.keyId,
    };
    return { ...unsigned, signature: toBase64Url(ed25519.sign(utf8(treeHeadSigningMessage(unsigned)), this.secret)) };
  }

  async head(): Promise<SignedTreeHead> {
    return this.headOf(this.leaves);
  }

  async inclusion(leafIndex: number, treeSize: number): Promise<string[]> {
    return path(leafIndex, this.leaves.slice(0, treeSize), 0, treeSize).map(toBase64Url);
  }

  async consistency(from: number, to: number): Promise<string[]> {
    if (from === 0 || from === to) return [];
    return subproof(from, this.leaves.slice(0, to), 0, to, true).map(toBase64Url);
  }
}
