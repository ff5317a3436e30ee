import { decodeMlsMessage, defaultKeyRetentionConfig, defaultPaddingConfig, type MLSMessage } from 'ts-mls';
import { encodeCommit } from 'ts-mls/commit.js';
import { verifyConfirmationTag } from 'ts-mls/framedContent.js';
import { verifyGroupInfoSignature } from 'ts-mls/groupInfo.js';
import { deriveKeySchedule } from 'ts-mls/keySchedule.js';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import { protectApplicationData, unprotectPrivateMessage } from 'ts-mls/messageProtection.js';
import { unprotectPublicMessage } from 'ts-mls/messageProtectionPublic.js';
import { decodeProposal, encodeProposal } from 'ts-mls/proposal.js';
import {
  addLeafNode,
  decodeRatchetTree,
  encodeRatchetTree,
  removeLeafNode,
  updateLeafNode,
  type RatchetTree,
} from 'ts-mls/ratchetTree.js';
import { createSecretTree } from 'ts-mls/secretTree.js';
import { treeHashRoot } from 'ts-mls/treeHash.js';
import { toLeafIndex } from 'ts-mls/treemath.js';
import { decryptGroupInfo, decryptGroupSecrets } from 'ts-mls/welcome.js';
import { describe, expect, it } from 'vitest';
import { loadVectors, runnable, SKIPPED_SUITES, tohex, unhex } from '../test-support/mls-vectors.js';

/** MLS interop vectors: message protection, Welcome and tree operations, through ts-mls as we use it. */

const message = (hex: string): MLSMessage => {
  const bytes = unhex(hex);
  const d = decodeMlsMessage(bytes, 0);
  if (d === undefined || d[1] !== bytes.length) throw new Error('vector message does not decode');
  return d[0];
};

interface ProtectionVector {
  cipher_suite: number;
  group_id: string;
  epoch: number;
  tree_hash: string;
  confirmed_transcript_hash: string;
  signature_priv: string;
  signature_pub: string;
  encryption_secret: string;
  sender_data_secret: string;
  membership_key: string;
  proposal: string;
  proposal_priv: string;
  proposal_pub: string;
  commit: string;
  commit_priv: string;
  commit_pub: string;
  application: string;
  application_priv: string;
}

describe('message-protection vectors', async () => {
  const { run, skipped } = await runnable(loadVectors<ProtectionVector>('message-protection'));
  it('runs the suites ts-mls supports here, skipping the others by name', () => {
    expect(run.map((r) => r.v.cipher_suite)).toEqual([1, 2, 5, 7]);
    expect(skipped).toEqual(SKIPPED_SUITES);
  });
  it.each(run.map((r) => [r.name, r] as const))('%s', async (_n, { v, cs }) => {
    const gc = {
      version: 'mls10' as const,
      cipherSuite: cs.name,
      groupId: unhex(v.group_id),
      epoch: BigInt(v.epoch),
      treeHash: unhex(v.tree_hash),
      confirmedTranscriptHash: unhex(v.confirmed_transcript_hash),
      extensions: [],
    };
    const pub = unhex(v.signature_pub);
    const fresh = () => createSecretTree(2, unhex(v.encryption_secret), cs.kdf);
    const open = async (hex: string) => {
      const m = message(hex);
      if (m.wireformat !== 'mls_private_message') throw new Error('expected a PrivateMessage');
      const r = await unprotectPrivateMessage(
        unhex(v.sender_data_secret),
        m.privateMessage,
        await fresh(),
        [],
        gc,
        defaultKeyRetentionConfig,
        cs,
        pub,
      );
      expect(r.content.content.sender).toEqual({ senderType: 'member', leafIndex: 1 });
      return r.content.content;
    };
    const verify = async (hex: string) => {
      const m = message(hex);
      if (m.wireformat !== 'mls_public_message') throw new Error('expected a PublicMessage');
      return (await unprotectPublicMessage(unhex(v.membership_key), gc, [], m.publicMessage, cs, pub)).content;
    };
    // Private: proposal, commit, application decrypt and verify to the raw values.
    const p = await open(v.proposal_priv);
    expect(p.contentType === 'proposal' && tohex(encodeProposal(p.proposal))).toBe(v.proposal);
    const c = await open(v.commit_priv);
    expect(c.contentType === 'commit' && tohex(encodeCommit(c.commit))).toBe(v.commit);
    const a = await open(v.application_priv);
    expect(a.contentType === 'application' && tohex(a.applicationData)).toBe(v.application);
    // Public: proposal and commit verify (membership tag and signature) to the raw values.
    const pp = await verify(v.proposal_pub);
    expect(pp.contentType === 'proposal' && tohex(encodeProposal(pp.proposal))).toBe(v.proposal);
    const cp = await verify(v.commit_pub);
    expect(cp.contentType === 'commit' && tohex(encodeCommit(cp.commit))).toBe(v.commit);
    // Protecting the application data as leaf 1 gives a message that opens to the same bytes.
    const sealed = await protectApplicationData(
      unhex(v.signature_priv),
      unhex(v.sender_data_secret),
      unhex(v.application),
      new Uint8Array(0),
      gc,
      await fresh(),
      1,
      defaultPaddingConfig,
      cs,
    );
    const back = await unprotectPrivateMessage(
      unhex(v.sender_data_secret),
      sealed.privateMessage,
      await fresh(),
      [],
      gc,
      defaultKeyRetentionConfig,
      cs,
      pub,
    );
    expect(back.content.content.contentType === 'application' && tohex(back.content.content.applicationData)).toBe(
      v.application,
    );
    // A flipped ciphertext bit does not open.
    const bad = {
      ...sealed.privateMessage,
      ciphertext: sealed.privateMessage.ciphertext.map((x, i) => (i === 0 ? x ^ 1 : x)),
    };
    await expect(
      unprotectPrivateMessage(
        unhex(v.sender_data_secret),
        bad,
        await fresh(),
        [],
        gc,
        defaultKeyRetentionConfig,
        cs,
        pub,
      ),
    ).rejects.toThrow();
  });
});

interface WelcomeVector {
  cipher_suite: number;
  init_priv: string;
  signer_pub: string;
  key_package: string;
  welcome: string;
}

describe('welcome vectors', async () => {
  const { run, skipped } = await runnable(loadVectors<WelcomeVector>('welcome'));
  it('runs the suites ts-mls supports here, skipping the others by name', () => {
    expect(run.map((r) => r.v.cipher_suite)).toEqual([1, 2, 5, 7]);
    expect(skipped).toEqual(SKIPPED_SUITES);
  });
  it.each(run.map((r) => [r.name, r] as const))(
    '%s: decrypt, verify signature and confirmation tag',
    async (_n, { v, cs }) => {
      const kp = message(v.key_package);
      const w = message(v.welcome);
      if (kp.wireformat !== 'mls_key_package' || w.wireformat !== 'mls_welcome')
        throw new Error('unexpected vector messages');
      const ref = await makeKeyPackageRef(kp.keyPackage, cs.hash);
      expect(w.welcome.secrets.some((s) => tohex(s.newMember) === tohex(ref))).toBe(true);
      const initKey = await cs.hpke.importPrivateKey(unhex(v.init_priv));
      const secrets = await decryptGroupSecrets(initKey, ref, w.welcome, cs.hpke);
      expect(secrets).toBeDefined();
      const psk = new Uint8Array(cs.kdf.size);
      const gi = await decryptGroupInfo(w.welcome, secrets!.joinerSecret, psk, cs);
      expect(gi).toBeDefined();
      expect(await verifyGroupInfoSignature(gi!, unhex(v.signer_pub), cs.signature)).toBe(true);
      const wrongKey = unhex(v.signer_pub).map((x, i) => (i === 1 ? x ^ 1 : x));
      expect(await verifyGroupInfoSignature(gi!, wrongKey, cs.signature).catch(() => false)).toBe(false);
      // The epoch's key schedule from the joiner secret (no PSKs) gives the confirmation key for the tag.
      const [schedule] = await deriveKeySchedule(secrets!.joinerSecret, psk, gi!.groupContext, cs.kdf);
      expect(
        await verifyConfirmationTag(
          schedule.confirmationKey,
          gi!.confirmationTag,
          gi!.groupContext.confirmedTranscriptHash,
          cs.hash,
        ),
      ).toBe(true);
    },
  );
});

interface TreeOpVector {
  cipher_suite: number;
  tree_before: string;
  proposal: string;
  proposal_sender: number;
  tree_hash_before: string;
  tree_after: string;
  tree_hash_after: string;
}

describe('tree-operations vectors', async () => {
  const { run, skipped } = await runnable(loadVectors<TreeOpVector>('tree-operations'));
  it('runs all 5 (suite 1 only in this family), covering add, update and remove', () => {
    expect(run).toHaveLength(5);
    expect(skipped).toEqual([]);
    const kinds = run.map((r) => decodeProposal(unhex(r.v.proposal), 0)?.[0].proposalType);
    expect(new Set(kinds)).toEqual(new Set(['add', 'update', 'remove']));
  });
  it.each(run.map((r, i) => [`${r.name} #${i}`, r] as const))('%s', async (_n, { v, cs }) => {
    const tree = decodeRatchetTree(unhex(v.tree_before), 0)![0];
    expect(tohex(await treeHashRoot(tree, cs.hash))).toBe(v.tree_hash_before);
    const p = decodeProposal(unhex(v.proposal), 0)![0];
    let after: RatchetTree;
    if (p.proposalType === 'add') after = addLeafNode(tree, p.add.keyPackage.leafNode)[0];
    else if (p.proposalType === 'update')
      after = updateLeafNode(tree, p.update.leafNode, toLeafIndex(v.proposal_sender));
    else if (p.proposalType === 'remove') after = removeLeafNode(tree, toLeafIndex(p.remove.removed));
    else throw new Error(`unexpected proposal ${p.proposalType}`);
    expect(tohex(encodeRatchetTree(after))).toBe(v.tree_after);
    expect(tohex(await treeHashRoot(after, cs.hash))).toBe(v.tree_hash_after);
  });
});
