/**
 * Real MLS objects for server tests, built with ts-mls: device keys the test holds, device
 * credentials, KeyPackages, groups, commits, Welcomes, GroupInfos and application messages.
 * Test-only: production MLS state lives in the client SDK.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  createGroupInfoWithExternalPubAndRatchetTree,
  decodeMlsMessage,
  defaultCapabilities,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  joinGroupExternal,
  getCiphersuiteImpl,
  type CiphersuiteImpl,
  type ClientState,
  type KeyPackage,
  type PrivateKeyPackage,
  type Proposal,
} from 'ts-mls';
import { encodeDeviceCredential, mlsGroupIdOf, type MlsSuite, type SessionGrant } from '@palisade/protocol';
import {
  approveDevice,
  authenticateToken,
  createInvite,
  enrol,
  issueBootstrapToken,
  login,
  type AuthDeps,
} from '../auth/index.js';
import type { Principal } from '../core/index.js';
import { PASS } from './users.js';

/** A signed-in device whose Ed25519 key the test holds (it is also its MLS signature key). */
export interface MlsDevice {
  principal: Principal;
  token: string;
  /** base64url raw public key, as registered. */
  publicKey: string;
  /** For HTTP request proofs. */
  privateKey: KeyObject;
  /** The MLS signature key pair (PKCS#8 secret, raw public). */
  signKey: Uint8Array;
  signPublic: Uint8Array;
  /** Its device credential bytes (the MLS basic identity). */
  credential: Uint8Array;
}

function newKeys(): { publicKey: string; privateKey: KeyObject; signKey: Uint8Array; signPublic: Uint8Array } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
  return {
    publicKey: x,
    privateKey,
    signKey: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' })),
    signPublic: new Uint8Array(Buffer.from(x, 'base64url')),
  };
}

/**
 * A device credential in the canonical encoding. The organisation signature is a placeholder: the
 * delivery service checks the ids and key, the clients (and the transparency log) check the signature.
 */
export function testCredential(p: { userId: string; username: string; deviceId: string }, key: string): Uint8Array {
  return encodeDeviceCredential({
    v: 1,
    userId: p.userId,
    username: p.username,
    deviceId: p.deviceId,
    signatureKey: key,
    issuedAt: '2026-01-01T00:00:00.000Z',
    keyId: 'test-org-key',
    signature: 'A'.repeat(86),
  });
}

async function signIn(deps: AuthDeps, username: string, keys: ReturnType<typeof newKeys>): Promise<MlsDevice> {
  const s = (await login(
    deps,
    { username, password: PASS, device: { publicKey: keys.publicKey, name: 'mls', platform: 'test' } },
    '10.0.0.1',
  )) as SessionGrant;
  const principal = (await authenticateToken(deps, s.token)).principal;
  return { principal, token: s.token, ...keys, credential: testCredential(principal, keys.publicKey) };
}

/** Creates users (the first through the bootstrap token when none exist), each signed in on one device. */
export async function mlsUsers(deps: AuthDeps, names: string[]): Promise<MlsDevice[]> {
  const out: MlsDevice[] = [];
  for (const name of names) {
    const boot = await issueBootstrapToken(deps);
    const token = boot?.token ?? (await createInvite(deps, null, { role: 'member', grants: [], ttlHours: 1 })).token;
    await enrol(deps, { token, username: name, password: PASS }, '10.0.0.1');
    out.push(await signIn(deps, name, newKeys()));
  }
  return out;
}

/** Signs the user of `approver` in on a second device, approved from `approver`. */
export async function mlsSecondDevice(deps: AuthDeps, approver: MlsDevice): Promise<MlsDevice> {
  const keys = newKeys();
  const device = { publicKey: keys.publicKey, name: 'second', platform: 'test' };
  const username = approver.principal.username;
  const first = await login(deps, { username, password: PASS, device }, '10.0.0.1').catch(
    (e: { code?: string; details?: { deviceId: string } }) => e,
  );
  const deviceId = (first as { details?: { deviceId?: string } }).details?.deviceId;
  if (!deviceId) throw new Error(`expected device_approval_required, got ${JSON.stringify(first)}`);
  await approveDevice(deps, approver.principal, deviceId);
  return signIn(deps, username, keys);
}

const impls = new Map<string, Promise<CiphersuiteImpl>>();
/** The ts-mls implementation of a suite (cached). */
export function suiteImpl(suite: MlsSuite = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'): Promise<CiphersuiteImpl> {
  let p = impls.get(suite);
  if (!p) impls.set(suite, (p = getCiphersuiteImpl(getCiphersuiteFromName(suite))));
  return p;
}

/** A generated KeyPackage: MLSMessage bytes, and both halves for building groups. */
export interface TestKeyPackage {
  bytes: Uint8Array;
  publicPackage: KeyPackage;
  privatePackage: PrivateKeyPackage;
}

/** Options to build a wrong KeyPackage on purpose. */
export interface KeyPackageOptions {
  suite?: MlsSuite;
  /** Lifetime in seconds since the epoch; default: from an hour ago for 30 days. */
  notBefore?: number;
  notAfter?: number;
  /** Sign with another key pair than the device's. */
  keys?: { signKey: Uint8Array; signPublic: Uint8Array };
  credential?: Uint8Array;
}

/** What building MLS objects needs of a device: its key pair and credential. */
export type MlsKeys = Pick<MlsDevice, 'signKey' | 'signPublic' | 'credential'>;

/** Keys and a credential for a device that is not signed in anywhere (for pure decoding tests). */
export function offlineMlsKeys(userId: string, deviceId: string): MlsKeys {
  const k = newKeys();
  return {
    signKey: k.signKey,
    signPublic: k.signPublic,
    credential: testCredential({ userId, username: userId, deviceId }, k.publicKey),
  };
}

/** A real KeyPackage of `dev` (its device key and credential unless `opts` says otherwise). */
export async function makeKeyPackage(dev: MlsKeys, opts: KeyPackageOptions = {}): Promise<TestKeyPackage> {
  const cs = await suiteImpl(opts.suite);
  const now = Math.floor(Date.now() / 1000);
  const keys = opts.keys ?? dev;
  const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
    { credentialType: 'basic', identity: opts.credential ?? dev.credential },
    defaultCapabilities(),
    { notBefore: BigInt(opts.notBefore ?? now - 3600), notAfter: BigInt(opts.notAfter ?? now + 30 * 86400) },
    [],
    { signKey: keys.signKey, publicKey: keys.signPublic },
    cs,
  );
  const bytes = encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: publicPackage });
  return { bytes, publicPackage, privatePackage };
}

/** Another Ed25519 key pair (for a KeyPackage signed by a key that is not the device's). */
export function strangerKeys(): { signKey: Uint8Array; signPublic: Uint8Array } {
  const k = newKeys();
  return { signKey: k.signKey, signPublic: k.signPublic };
}

/** What a commit produced, as the commit route takes it (bytes), and the committer's next state. */
export interface TestCommit {
  commit: Uint8Array;
  welcome: Uint8Array | undefined;
  groupInfo: Uint8Array;
  next: ClientState;
}

/** One member's view of a conversation's MLS group. */
export class TestGroup {
  private constructor(
    public state: ClientState,
    readonly cs: CiphersuiteImpl,
  ) {}

  /** A new group (epoch 0) of the conversation, with `dev` as its only member. */
  static async create(dev: MlsKeys, conversationId: string, suite?: MlsSuite): Promise<TestGroup> {
    const cs = await suiteImpl(suite);
    const kp = await makeKeyPackage(dev, suite ? { suite } : {});
    const state = await createGroup(mlsGroupIdOf(conversationId), kp.publicPackage, kp.privatePackage, [], cs);
    return new TestGroup(state, cs);
  }

  /**
   * Joins (or re-joins) through a GroupInfo as `dev`, by external commit: returns the member's group and
   * the commit (a PublicMessage from a new member) with the next epoch's GroupInfo.
   */
  static async joinExternal(dev: MlsKeys, groupInfo: Uint8Array): Promise<{ group: TestGroup; commit: TestCommit }> {
    const decoded = decodeMlsMessage(groupInfo, 0)?.[0];
    if (decoded?.wireformat !== 'mls_group_info') throw new Error('not a GroupInfo');
    const cs = await suiteImpl(decoded.groupInfo.groupContext.cipherSuite as MlsSuite);
    const kp = await makeKeyPackage(dev);
    const r = await joinGroupExternal(decoded.groupInfo, kp.publicPackage, kp.privatePackage, false, cs);
    const gi = await createGroupInfoWithExternalPubAndRatchetTree(r.newState, [], cs);
    const commit: TestCommit = {
      commit: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage: r.publicMessage }),
      welcome: undefined,
      groupInfo: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo: gi }),
      next: r.newState,
    };
    return { group: new TestGroup(r.newState, cs), commit };
  }

  get epoch(): number {
    return Number(this.state.groupContext.epoch);
  }

  /** A commit adding these KeyPackages and removing these members (by signature key); state unchanged. */
  async commit(add: KeyPackage[] = [], removeKeys: Uint8Array[] = []): Promise<TestCommit> {
    const proposals: Proposal[] = [
      ...add.map((keyPackage): Proposal => ({ proposalType: 'add', add: { keyPackage } })),
      ...removeKeys.map((k): Proposal => ({ proposalType: 'remove', remove: { removed: this.leafOf(k) } })),
    ];
    const r = await createCommit(
      { state: this.state, cipherSuite: this.cs },
      { extraProposals: proposals, ratchetTreeExtension: true },
    );
    const gi = await createGroupInfoWithExternalPubAndRatchetTree(r.newState, [], this.cs);
    return {
      commit: encodeMlsMessage(r.commit),
      welcome: r.welcome && encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: r.welcome }),
      groupInfo: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo: gi }),
      next: r.newState,
    };
  }

  /** An application message of the current epoch (advances this member's sending ratchet). */
  async message(text: string): Promise<Uint8Array> {
    const r = await createApplicationMessage(this.state, new TextEncoder().encode(text), this.cs);
    this.state = r.newState;
    return encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: r.privateMessage });
  }

  private leafOf(signatureKey: Uint8Array): number {
    const i = this.state.ratchetTree.findIndex(
      (n) => n?.nodeType === 'leaf' && Buffer.from(n.leaf.signaturePublicKey).equals(Buffer.from(signatureKey)),
    );
    if (i < 0) throw new Error('no such member');
    return i / 2;
  }
}

/** base64url of bytes, as the MLS routes take them. */
export const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
