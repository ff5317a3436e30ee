import { ed25519 } from '@noble/curves/ed25519.js';
import {
  credentialSigningMessage,
  encodeDeviceCredential,
  orgKeyEndorsementMessage,
  treeHeadSigningMessage,
  type DeviceCredential,
  type OrgKeyView,
  type SignedTreeHead,
} from '@palisade/protocol';
import { expect } from 'vitest';
import { toBase64Url, utf8 } from '../bytes.js';
import { EMPTY_ROOT, leafHash, nodeHash } from '../e2ee/merkle.js';
import {
  KeyTransparency,
  TransparencyError,
  type TransparencySource,
  type TransparencyState,
} from '../e2ee/transparency.js';

/**
 * Test support: the test plays the server. An honest log built from the RFC 9162 definitions, which each
 * test then bends into a malicious one.
 */
// The test plays the server: an honest log built from the RFC 9162 definitions, which each test then
// bends into a malicious one.
const split = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);
export const mth = (d: Uint8Array[]): Uint8Array =>
  d.length === 0
    ? EMPTY_ROOT
    : d.length === 1
      ? d[0]!
      : nodeHash(mth(d.slice(0, split(d.length))), mth(d.slice(split(d.length))));
export const path = (m: number, d: Uint8Array[]): Uint8Array[] => {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
};
export const subproof = (m: number, d: Uint8Array[], b: boolean): Uint8Array[] => {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = split(d.length);
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
};
export const b64 = toBase64Url;

export interface OrgKey {
  keyId: string;
  secret: Uint8Array;
  publicKey: string;
}
export const newKey = (keyId: string): OrgKey => {
  const secret = ed25519.utils.randomSecretKey();
  return { keyId, secret, publicKey: b64(ed25519.getPublicKey(secret)) };
};
export const signText = (k: { secret: Uint8Array }, text: string) => b64(ed25519.sign(utf8(text), k.secret));

export class FakeLog implements TransparencySource {
  keys: OrgKeyView[] = [];
  active: OrgKey;
  leaves: Uint8Array[] = [];
  credentials: Uint8Array[] = [];
  constructor() {
    this.active = newKey('k1');
    this.keys.push({ keyId: 'k1', publicKey: this.active.publicKey, createdAt: new Date(0).toISOString() });
  }
  rotate(keyId: string, endorser: OrgKey = this.active): OrgKey {
    const k = newKey(keyId);
    const endorsement = {
      keyId: endorser.keyId,
      signature: signText(endorser, orgKeyEndorsementMessage(keyId, k.publicKey)),
    };
    this.keys.push({ keyId, publicKey: k.publicKey, createdAt: new Date(1).toISOString(), endorsement });
    this.active = k;
    return k;
  }
  credential(
    deviceId: string,
    signatureKey: string,
    by: OrgKey = this.active,
    user = { userId: 'u1', username: 'alice' },
  ): Uint8Array {
    const unsigned = {
      v: 1 as const,
      userId: user.userId,
      username: user.username,
      deviceId,
      signatureKey,
      issuedAt: new Date(0).toISOString(),
      keyId: by.keyId,
    };
    const c: DeviceCredential = { ...unsigned, signature: signText(by, credentialSigningMessage(unsigned)) };
    return encodeDeviceCredential(c);
  }
  append(bytes: Uint8Array): number {
    this.leaves.push(leafHash(bytes));
    this.credentials.push(bytes);
    return this.leaves.length - 1;
  }
  headOf(leaves: Uint8Array[], key: OrgKey = this.active): SignedTreeHead {
    const unsigned = {
      treeSize: leaves.length,
      rootHash: b64(mth(leaves)),
      timestamp: new Date(0).toISOString(),
      keyId: key.keyId,
    };
    return { ...unsigned, signature: signText(key, treeHeadSigningMessage(unsigned)) };
  }
  orgKeys = () => Promise.resolve(structuredClone(this.keys));
  head = () => Promise.resolve(this.headOf(this.leaves));
  inclusion = (i: number, n: number) => Promise.resolve(path(i, this.leaves.slice(0, n)).map(b64));
  consistency = (a: number, b: number) =>
    Promise.resolve(a === 0 || a === b ? [] : subproof(a, this.leaves.slice(0, b), true).map(b64));
}

export const deviceKey = () => {
  const secret = ed25519.utils.randomSecretKey();
  return { secret, publicKey: b64(ed25519.getPublicKey(secret)) };
};

export async function refused(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(TransparencyError);
  expect((e as TransparencyError).code).toBe(code);
}

/** A log with a few honest credentials already in it, and a client that verified its head. */
export async function setUp(n = 5) {
  const log = new FakeLog();
  const devices = Array.from({ length: n }, () => deviceKey());
  const creds = devices.map((d, i) => log.credential(`d${i}`, d.publicKey));
  creds.forEach((c) => log.append(c));
  const saved: TransparencyState[] = [];
  const kt = new KeyTransparency(log, { orgKeys: {} }, (s) => saved.push(s));
  await kt.refreshHead();
  return { log, devices, creds, kt, saved };
}
