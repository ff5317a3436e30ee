/**
 * The one file of the server that uses ts-mls, and only to DECODE public MLS structures and verify
 * KeyPackage signatures. SECURITY: the server holds no MLS secret and decrypts nothing; every other
 * file of the server sees the plain facts this file returns. Never throws a library error: bad bytes
 * give `undefined` or an AppError with a stable code.
 */
import {
  decodeMlsMessage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type CiphersuiteImpl,
  type CiphersuiteName,
  type MLSMessage,
} from 'ts-mls';
import { makeKeyPackageRef, verifyKeyPackage } from 'ts-mls/keyPackage.js';
import { MLS_SERVER_SUITES, type MlsSuite } from '@palisade/protocol';
import { AppError } from '../core/index.js';

/** Header facts of an MLS message readable without any key. */
export interface MlsPeek {
  wireformat: 'private_message' | 'public_message' | 'welcome' | 'group_info' | 'key_package';
  groupId?: Uint8Array;
  epoch?: number;
  contentType?: 'application' | 'proposal' | 'commit';
  /** PublicMessage sender type ('member', 'new_member_commit', ...). */
  senderType?: string;
  /** The cipher suite, for welcomes, group infos and key packages. */
  suite?: string;
}

function decode(bytes: Uint8Array): MLSMessage | undefined {
  try {
    const r = decodeMlsMessage(bytes, 0);
    // SECURITY: the whole input must be one message: no trailing bytes smuggled after it.
    if (!r || r[1] !== bytes.length) return undefined;
    return r[0];
  } catch {
    return undefined;
  }
}

const epochOf = (e: bigint): number | undefined => (e <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(e) : undefined);

/** Reads the public header of an MLSMessage; undefined when the bytes are not exactly one MLS message. */
export function peekMls(bytes: Uint8Array): MlsPeek | undefined {
  const m = decode(bytes);
  if (!m) return undefined;
  switch (m.wireformat) {
    case 'mls_private_message': {
      const p = m.privateMessage;
      return { wireformat: 'private_message', groupId: p.groupId, epoch: epochOf(p.epoch), contentType: p.contentType };
    }
    case 'mls_public_message': {
      const c = m.publicMessage.content;
      return {
        wireformat: 'public_message',
        groupId: c.groupId,
        epoch: epochOf(c.epoch),
        contentType: c.contentType,
        senderType: c.sender.senderType,
      };
    }
    case 'mls_welcome':
      return { wireformat: 'welcome', suite: m.welcome.cipherSuite };
    case 'mls_group_info': {
      const g = m.groupInfo.groupContext;
      return { wireformat: 'group_info', groupId: g.groupId, epoch: epochOf(g.epoch), suite: g.cipherSuite };
    }
    case 'mls_key_package':
      return { wireformat: 'key_package', suite: m.keyPackage.cipherSuite };
    default:
      return undefined;
  }
}

/** What the directory needs of a verified KeyPackage. */
export interface KeyPackageFacts {
  /** Hex KeyPackageRef (RFC 9420 section 5.2). */
  ref: string;
  suite: MlsSuite;
  /** Lifetime bounds in milliseconds since the epoch. */
  notBeforeMs: number;
  notAfterMs: number;
  signatureKey: Uint8Array;
  /** The basic credential's identity; undefined for any other credential type. */
  identity: Uint8Array | undefined;
}

const impls = new Map<CiphersuiteName, Promise<CiphersuiteImpl>>();
function impl(name: CiphersuiteName): Promise<CiphersuiteImpl> {
  let p = impls.get(name);
  if (!p) impls.set(name, (p = getCiphersuiteImpl(getCiphersuiteFromName(name))));
  return p;
}

const bad = (why: string) => new AppError('invalid_key_package', undefined, { details: { reason: why } });
/** Seconds (uint64) to milliseconds, clamped so far-future bounds stay comparable. */
const ms = (s: bigint) => (s > 8_000_000_000_000n ? Number.MAX_SAFE_INTEGER : Number(s) * 1000);

/**
 * Decodes an MLSMessage KeyPackage, checks its cipher suite is allowed and verifies its signature
 * (by its own leaf key). Throws `invalid_key_package` with a reason otherwise.
 */
export async function readKeyPackage(bytes: Uint8Array): Promise<KeyPackageFacts> {
  const m = decode(bytes);
  if (!m || m.wireformat !== 'mls_key_package') throw bad('not an MLS KeyPackage');
  const kp = m.keyPackage;
  if (kp.version !== 'mls10') throw bad('not MLS 1.0');
  const suite = kp.cipherSuite as string;
  if (!(MLS_SERVER_SUITES as readonly string[]).includes(suite)) throw bad('cipher suite not allowed');
  const cs = await impl(kp.cipherSuite);
  let ok = false;
  try {
    ok = await verifyKeyPackage(kp, cs.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw bad('signature does not verify');
  const leaf = kp.leafNode;
  if (leaf.leafNodeSource !== 'key_package') throw bad('leaf node is not of a KeyPackage');
  const ref = Buffer.from(await makeKeyPackageRef(kp, cs.hash)).toString('hex');
  return {
    ref,
    suite: suite as MlsSuite,
    notBeforeMs: ms(leaf.lifetime.notBefore),
    notAfterMs: ms(leaf.lifetime.notAfter),
    signatureKey: leaf.signaturePublicKey,
    identity: leaf.credential.credentialType === 'basic' ? leaf.credential.identity : undefined,
  };
}
