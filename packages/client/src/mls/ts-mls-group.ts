import { ed25519 } from '@noble/curves/ed25519.js';
import {
  decodeGroupState,
  encodeGroupState,
  type CiphersuiteImpl,
  type ClientState,
  type MLSMessage,
  type RatchetTree,
} from 'ts-mls';
import { decryptSenderData } from 'ts-mls/privateMessage.js';
import {
  MlsError,
  MLS_SUITES,
  type DeviceIdentity,
  type MlsGroup,
  type MlsMember,
  type MlsSuiteName,
} from './adapter.js';
import { hex } from './ts-mls-codec.js';

const SNAPSHOT_VERSION = 1;

/** The members (non-blank leaves) of a ratchet tree. */
export function treeMembers(tree: RatchetTree): MlsMember[] {
  const out: MlsMember[] = [];
  for (let i = 0; i < tree.length; i += 2) {
    const n = tree[i];
    if (n?.nodeType !== 'leaf') continue;
    const c = n.leaf.credential;
    out.push({
      leafIndex: i / 2,
      credential: c.credentialType === 'basic' ? c.identity : new Uint8Array(0),
      signatureKey: n.leaf.signaturePublicKey,
    });
  }
  return out;
}

/** The member at one leaf of a tree, if that leaf is not blank. */
export function memberAt(tree: RatchetTree, leafIndex: number | undefined): MlsMember | undefined {
  if (leafIndex === undefined) return undefined;
  return treeMembers(tree).find((m) => m.leafIndex === leafIndex);
}

const sameKey = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Who left and who arrived in a commit: the leaves its Remove proposals name, the leaves that are
 * new (index or signature key), and a removed leaf that is filled again (a resync by external
 * commit replaces a device's leaf in place: it counts as removed and added).
 */
export function diffMembers(
  before: RatchetTree,
  after: RatchetTree,
  removedLeaves: number[],
): { added: MlsMember[]; removed: MlsMember[] } {
  const a = treeMembers(before);
  const b = treeMembers(after);
  const has = (list: MlsMember[], m: MlsMember) =>
    list.some((x) => x.leafIndex === m.leafIndex && sameKey(x.signatureKey, m.signatureKey));
  const named = new Set(removedLeaves);
  return {
    added: b.filter((m) => !has(a, m) || named.has(m.leafIndex)),
    removed: a.filter((m) => !has(b, m) || named.has(m.leafIndex)),
  };
}

/**
 * One group snapshot over a ts-mls ClientState. The state object is never mutated; `spent` marks a
 * snapshot that an encryption has consumed.
 */
export class TsMlsGroup implements MlsGroup {
  /** SECURITY: set once `encrypt` used this snapshot, so a second use cannot reuse a ratchet generation. */
  spent = false;

  constructor(
    readonly state: ClientState,
    readonly suite: MlsSuiteName,
  ) {}

  get groupId(): Uint8Array {
    return this.state.groupContext.groupId;
  }

  get epoch(): number {
    return Number(this.state.groupContext.epoch);
  }

  get ownLeafIndex(): number {
    return this.state.privatePath.leafIndex;
  }

  /** True once this device has processed the commit that removed it. */
  get removed(): boolean {
    return this.state.groupActiveState.kind === 'removedFromGroup';
  }

  members(): MlsMember[] {
    return treeMembers(this.state.ratchetTree);
  }

  /** Version byte, then ts-mls's GroupState encoding (secrets, tree, retained epochs, proposals). */
  encode(): Uint8Array {
    const body = encodeGroupState(this.state);
    const out = new Uint8Array(1 + body.length);
    out[0] = SNAPSHOT_VERSION;
    out.set(body, 1);
    return out;
  }
}

/**
 * Restores a snapshot; `attach` supplies the (unencoded) client configuration.
 * Throws MlsError('decode') for anything that is not a whole snapshot, MlsError('invalid') for a
 * snapshot of another suite than this adapter's.
 */
export function decodeSnapshot(
  bytes: Uint8Array,
  suite: MlsSuiteName,
  attach: (s: Omit<ClientState, 'clientConfig'>) => ClientState,
): TsMlsGroup {
  if (!(bytes instanceof Uint8Array) || bytes[0] !== SNAPSHOT_VERSION) throw new MlsError('decode', 'not a snapshot');
  let decoded: ReturnType<typeof decodeGroupState>;
  try {
    decoded = decodeGroupState(bytes, 1);
  } catch {
    decoded = undefined;
  }
  if (decoded === undefined || decoded[1] + 1 !== bytes.length) throw new MlsError('decode', 'not a whole snapshot');
  const cs = decoded[0].groupContext.cipherSuite;
  if (!(MLS_SUITES as readonly string[]).includes(cs) || cs !== suite)
    throw new MlsError('invalid', `snapshot of suite ${cs}, adapter is ${suite}`);
  return new TsMlsGroup(attach(decoded[0]), suite);
}

/**
 * The sender of an application message that processMessage has already authenticated (its
 * signature was checked against the leaf the sender data names). Found without a second
 * decryption: processing ratchets exactly one secret-tree node forward, the sender's, and ts-mls
 * replaces only that node (copy on write). If that ever stops holding, the sender data is
 * decrypted again (the slower, certain way).
 */
export async function applicationSender(
  before: ClientState,
  after: ClientState,
  m: MLSMessage,
  cs: CiphersuiteImpl,
): Promise<MlsMember> {
  if (m.wireformat !== 'mls_private_message') throw new MlsError('invalid', 'an application message in the clear');
  const pm = m.privateMessage;
  const current = pm.epoch === before.groupContext.epoch;
  const old = current ? undefined : before.historicalReceiverData.get(pm.epoch);
  const tree = old?.ratchetTree ?? before.ratchetTree;
  const treeBefore = old?.secretTree ?? before.secretTree;
  const treeAfter = current ? after.secretTree : after.historicalReceiverData.get(pm.epoch)?.secretTree;
  const changed: number[] = [];
  if (treeAfter !== undefined && treeAfter.length === treeBefore.length)
    for (let i = 0; i < treeAfter.length; i++) if (treeAfter[i] !== treeBefore[i]) changed.push(i);
  let leaf: number | undefined;
  if (changed.length === 1 && (changed[0] as number) % 2 === 0) leaf = (changed[0] as number) / 2;
  else
    leaf = (await decryptSenderData(pm, old?.senderDataSecret ?? before.keySchedule.senderDataSecret, cs))?.leafIndex;
  const member = memberAt(tree, leaf);
  if (member === undefined) throw new MlsError('invalid', 'no sender leaf');
  return member;
}

/** Throws MlsError('invalid') unless the identity is credential bytes and a matching Ed25519 key pair. */
export function checkIdentity(identity: DeviceIdentity): void {
  const ok =
    identity !== null &&
    typeof identity === 'object' &&
    identity.credential instanceof Uint8Array &&
    identity.signatureSecret instanceof Uint8Array &&
    identity.signatureSecret.length === 32 &&
    identity.signaturePublic instanceof Uint8Array &&
    hex(ed25519.getPublicKey(identity.signatureSecret)) === hex(identity.signaturePublic);
  if (!ok) throw new MlsError('invalid', 'a device identity: credential bytes and a matching Ed25519 key pair');
}
