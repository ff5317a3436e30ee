import {
  createApplicationMessage,
  createCommit,
  createGroup,
  createGroupInfoWithExternalPubAndRatchetTree,
  defaultCapabilities,
  emptyPskIndex,
  generateKeyPackageWithKey,
  joinGroup,
  joinGroupExternal,
  processMessage,
  type CiphersuiteImpl,
  type ClientState,
  type IncomingMessageCallback,
  type Proposal,
} from 'ts-mls';
import { ratchetTreeFromExtension } from 'ts-mls/groupInfo.js';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import {
  MlsError,
  type CredentialValidator,
  type DeviceIdentity,
  type MlsAdapter,
  type MlsGroup,
  type MlsIncoming,
  type MlsSuiteName,
} from './adapter.js';
import {
  decodeKeyPackageSecret,
  decodeMessage,
  encodeKeyPackageSecret,
  encodeMessage,
  hex,
  peekDecoded,
  peekMessage,
} from './ts-mls-codec.js';
import { suiteImpl } from './ts-mls-crypto.js';
import { clientConfig, guarded, type AuthTracker } from './ts-mls-errors.js';
import { applicationSender, checkIdentity, decodeSnapshot, diffMembers, memberAt, TsMlsGroup } from './ts-mls-group.js';

/** Options of {@link createTsMlsAdapter}. */
export interface TsMlsAdapterOptions {
  /** Default MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519. */
  suite?: MlsSuiteName;
  /** SECURITY: decides every member credential (see {@link CredentialValidator}). */
  validate: CredentialValidator;
  /**
   * Past epochs whose keys are kept for late application messages: 1 or more (default 4). (0 is
   * refused: ts-mls 1.6.4 would then keep every epoch, its `slice(-0)`.)
   */
  keyRetentionEpochs?: number;
  /** Unix seconds, for KeyPackage lifetimes (tests fake the clock). Default: Date.now(). */
  nowSeconds?: () => number;
}

/** KeyPackage lifetimes start this far in the past, for members whose clocks run behind. */
const CLOCK_SKEW_SECONDS = 3600;
/** The lifetime of the KeyPackage behind an own leaf that is never uploaded (createGroup, joinExternal). */
const OWN_LEAF_LIFETIME_SECONDS = 7 * 24 * 3600;

/**
 * The MLS adapter over ts-mls 1.6.4. Every failure is an MlsError with a stable code; every leaf
 * the library accepts goes through `opts.validate`.
 */
export async function createTsMlsAdapter(opts: TsMlsAdapterOptions): Promise<MlsAdapter> {
  const suite: MlsSuiteName = opts.suite ?? 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';
  const retain = opts.keyRetentionEpochs ?? 4;
  if (!Number.isSafeInteger(retain) || retain < 1 || retain > 64)
    throw new MlsError('invalid', 'keyRetentionEpochs: an integer from 1 to 64');
  if (typeof opts.validate !== 'function') throw new MlsError('invalid', 'a credential validator is required');
  const now = opts.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const cs: CiphersuiteImpl = await suiteImpl(suite);
  const config = (t: AuthTracker) => clientConfig(opts.validate, retain, t);
  const withConfig = (s: Omit<ClientState, 'clientConfig'>, t: AuthTracker): ClientState => ({
    ...s,
    clientConfig: config(t),
  });

  const asGroup = (g: MlsGroup): TsMlsGroup => {
    if (!(g instanceof TsMlsGroup) || g.suite !== suite) throw new MlsError('invalid', 'not a group of this adapter');
    return g;
  };
  const active = (g: MlsGroup): TsMlsGroup => {
    const group = asGroup(g);
    if (group.removed) throw new MlsError('not_member', 'this device is no longer in the group');
    return group;
  };

  async function keyPackage(identity: DeviceIdentity, lifetimeSeconds: number) {
    checkIdentity(identity);
    if (!Number.isSafeInteger(lifetimeSeconds) || lifetimeSeconds <= 0)
      throw new MlsError('invalid', 'lifetimeSeconds: a positive integer');
    const t = now();
    const lifetime = { notBefore: BigInt(t - CLOCK_SKEW_SECONDS), notAfter: BigInt(t + lifetimeSeconds) };
    const credential = { credentialType: 'basic' as const, identity: identity.credential };
    const keys = { signKey: identity.signatureSecret, publicKey: identity.signaturePublic };
    return generateKeyPackageWithKey(credential, defaultCapabilities(), lifetime, [], keys, cs);
  }

  const adapter: MlsAdapter = {
    suite,

    async generateKeyPackage(identity, lifetimeSeconds) {
      return guarded(async () => {
        const kp = await keyPackage(identity, lifetimeSeconds);
        const bytes = encodeMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: kp.publicPackage });
        const ref = hex(await makeKeyPackageRef(kp.publicPackage, cs.hash));
        return { keyPackage: bytes, ref, secret: encodeKeyPackageSecret(bytes, kp.privatePackage) };
      });
    },

    async createGroup(groupId, identity) {
      if (!(groupId instanceof Uint8Array) || groupId.length === 0 || groupId.length > 255)
        throw new MlsError('invalid', 'a group id is 1 to 255 bytes');
      return guarded(async (t) => {
        const kp = await keyPackage(identity, OWN_LEAF_LIFETIME_SECONDS);
        // SECURITY: the own leaf is a leaf like any other: the validator decides it too.
        if (
          !(await config(t).authService.validateCredential(
            kp.publicPackage.leafNode.credential,
            identity.signaturePublic,
          ))
        )
          throw new MlsError('credential_refused', 'this device credential was refused');
        const state = await createGroup(groupId, kp.publicPackage, kp.privatePackage, [], cs, config(t));
        return new TsMlsGroup(state, suite);
      });
    },

    async commit(g, change) {
      const group = active(g);
      const proposals: Proposal[] = [];
      for (const bytes of change.add) {
        const m = decodeMessage(bytes);
        if (m.wireformat !== 'mls_key_package') throw new MlsError('decode', 'not a KeyPackage');
        proposals.push({ proposalType: 'add', add: { keyPackage: m.keyPackage } });
      }
      const leaves = new Set(group.members().map((m) => m.leafIndex));
      for (const leaf of change.remove) {
        if (!leaves.has(leaf)) throw new MlsError('invalid', `no member at leaf ${leaf}`);
        if (leaf === group.ownLeafIndex) throw new MlsError('invalid', 'a member cannot remove itself by commit');
        proposals.push({ proposalType: 'remove', remove: { removed: leaf } });
      }
      return guarded(async (t) => {
        const state = withConfig(group.state, t);
        const r = await createCommit(
          { state, cipherSuite: cs },
          { extraProposals: proposals, ratchetTreeExtension: true },
        );
        const info = await createGroupInfoWithExternalPubAndRatchetTree(r.newState, [], cs);
        return {
          group: new TsMlsGroup(r.newState, suite),
          commit: encodeMessage(r.commit),
          ...(r.welcome
            ? { welcome: encodeMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: r.welcome }) }
            : {}),
          groupInfo: encodeMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo: info }),
        };
      });
    },

    async joinFromWelcome(welcomeBytes, findSecret) {
      const m = decodeMessage(welcomeBytes);
      if (m.wireformat !== 'mls_welcome') throw new MlsError('decode', 'not a Welcome');
      if (m.welcome.cipherSuite !== suite) throw new MlsError('invalid', 'a Welcome of another cipher suite');
      let usedRef: string | undefined;
      let secret: Uint8Array | undefined;
      for (const s of m.welcome.secrets) {
        const ref = hex(s.newMember);
        secret = findSecret(ref);
        if (secret !== undefined) {
          usedRef = ref;
          break;
        }
      }
      if (secret === undefined || usedRef === undefined)
        throw new MlsError('no_key_package', 'the Welcome names no KeyPackage this device holds');
      const { keyPackage: kp, priv } = decodeKeyPackageSecret(secret);
      return guarded(async (t) => {
        const state = await joinGroup(m.welcome, kp, priv, emptyPskIndex, cs, undefined, undefined, config(t));
        return { group: new TsMlsGroup(state, suite), usedRef: usedRef };
      });
    },

    async joinExternal(groupInfoBytes, identity) {
      const m = decodeMessage(groupInfoBytes);
      if (m.wireformat !== 'mls_group_info') throw new MlsError('decode', 'not a GroupInfo');
      if (m.groupInfo.groupContext.cipherSuite !== suite) throw new MlsError('invalid', 'a GroupInfo of another suite');
      return guarded(async (t) => {
        const kp = await keyPackage(identity, OWN_LEAF_LIFETIME_SECONDS);
        const tree = ratchetTreeFromExtension(m.groupInfo);
        if (tree === undefined) throw new MlsError('invalid', 'the GroupInfo carries no ratchet tree');
        // Resync: this device (its signature key) still has a leaf, which the external commit replaces.
        const resync = tree.some(
          (n) => n?.nodeType === 'leaf' && hex(n.leaf.signaturePublicKey) === hex(identity.signaturePublic),
        );
        const r = await joinGroupExternal(
          m.groupInfo,
          kp.publicPackage,
          kp.privatePackage,
          resync,
          cs,
          undefined,
          config(t),
        );
        const commit = encodeMessage({
          version: 'mls10',
          wireformat: 'mls_public_message',
          publicMessage: r.publicMessage,
        });
        return { group: new TsMlsGroup(r.newState, suite), commit };
      });
    },

    async groupInfo(g) {
      const group = active(g);
      return guarded(async () => {
        const info = await createGroupInfoWithExternalPubAndRatchetTree(group.state, [], cs);
        return encodeMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo: info });
      });
    },

    keyPackageLeaf(bytes) {
      const m = decodeMessage(bytes);
      if (m.wireformat !== 'mls_key_package') throw new MlsError('decode', 'not a KeyPackage');
      const leaf = m.keyPackage.leafNode;
      if (leaf.credential.credentialType !== 'basic') throw new MlsError('decode', 'not a basic credential');
      return { credential: leaf.credential.identity, signatureKey: leaf.signaturePublicKey };
    },

    async encrypt(g, plaintext) {
      const group = active(g);
      if (!(plaintext instanceof Uint8Array)) throw new MlsError('invalid', 'plaintext: bytes');
      // SECURITY: a snapshot encrypts once; the next message must use the snapshot this returns.
      if (group.spent) throw new MlsError('invalid', 'this group snapshot was already used to encrypt');
      return guarded(async (t) => {
        const r = await createApplicationMessage(withConfig(group.state, t), plaintext, cs);
        group.spent = true;
        const message = encodeMessage({
          version: 'mls10',
          wireformat: 'mls_private_message',
          privateMessage: r.privateMessage,
        });
        return { group: new TsMlsGroup(r.newState, suite), message };
      });
    },

    async process(g, bytes) {
      const group = asGroup(g);
      const m = decodeMessage(bytes);
      if (m.wireformat !== 'mls_private_message' && m.wireformat !== 'mls_public_message')
        throw new MlsError('invalid', 'not a handshake or application message');
      const header = peekDecoded(m);
      if (hex(header.groupId ?? new Uint8Array(0)) !== hex(group.groupId))
        throw new MlsError('wrong_group', 'a message for another group');
      if (group.removed) throw new MlsError('not_member', 'this device is no longer in the group');
      if ((header.epoch ?? -1) > group.epoch) throw new MlsError('wrong_epoch', 'a message for a later epoch');
      let committer: number | undefined;
      const removedLeaves: number[] = [];
      const accept: IncomingMessageCallback = (incoming) => {
        if (incoming.kind !== 'commit') return 'accept';
        committer = incoming.senderLeafIndex;
        for (const p of incoming.proposals)
          if (p.proposal.proposalType === 'remove') removedLeaves.push(p.proposal.remove.removed);
        return 'accept';
      };
      return guarded(async (t): Promise<MlsIncoming> => {
        const before = group.state;
        const r = await processMessage(m, withConfig(before, t), emptyPskIndex, accept, cs);
        const next = new TsMlsGroup(r.newState, suite);
        if (r.kind === 'applicationMessage') {
          const sender = await applicationSender(before, r.newState, m, cs);
          return { kind: 'application', group: next, plaintext: r.message, sender };
        }
        if (header.contentType === 'proposal') return { kind: 'proposal', group: next };
        const { added, removed } = diffMembers(before.ratchetTree, r.newState.ratchetTree, removedLeaves);
        const sender = memberAt(before.ratchetTree, committer);
        return { kind: 'commit', group: next, added, removed, ...(sender ? { sender } : {}) };
      });
    },

    decodeGroup(bytes) {
      const tracker: AuthTracker = { refused: false };
      return decodeSnapshot(bytes, suite, (s) => withConfig(s, tracker));
    },

    peek: peekMessage,
  };
  return adapter;
}
