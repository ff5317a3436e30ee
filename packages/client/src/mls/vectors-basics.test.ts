import { defaultKeyRetentionConfig } from 'ts-mls';
import { refhash } from 'ts-mls/crypto/hash.js';
import { decryptWithLabel, encryptWithLabel } from 'ts-mls/crypto/hpke.js';
import { deriveSecret, deriveTreeSecret, expandWithLabel } from 'ts-mls/crypto/kdf.js';
import { signWithLabel, verifyWithLabel } from 'ts-mls/crypto/signature.js';
import { createSecretTree, deriveKey, deriveNonce, ratchetUntil } from 'ts-mls/secretTree.js';
import { expandSenderDataKey, expandSenderDataNonce } from 'ts-mls/sender.js';
import {
  left,
  leafToNodeIndex,
  nodeWidth,
  parent,
  right,
  root,
  sibling,
  toLeafIndex,
  toNodeIndex,
} from 'ts-mls/treemath.js';
import { describe, expect, it } from 'vitest';
import { loadVectors, runnable, SKIPPED_SUITES, tohex, unhex } from '../test-support/mls-vectors.js';

/** MLS interop vectors: tree math, crypto basics and the secret tree, through ts-mls as we use it. */

interface TreeMath {
  n_leaves: number;
  n_nodes: number;
  root: number;
  left: (number | null)[];
  right: (number | null)[];
  parent: (number | null)[];
  sibling: (number | null)[];
}

describe('tree-math vectors', () => {
  const vectors = loadVectors<TreeMath>('tree-math');
  it('10 trees, up to 512 leaves: width, root, left, right, parent, sibling of every node', () => {
    expect(vectors).toHaveLength(10);
    let checked = 0;
    for (const v of vectors) {
      expect(nodeWidth(v.n_leaves)).toBe(v.n_nodes);
      expect(root(v.n_leaves)).toBe(v.root);
      for (let i = 0; i < v.n_nodes; i++) {
        const x = toNodeIndex(i);
        if (v.left[i] !== null) expect(left(x)).toBe(v.left[i]);
        if (v.right[i] !== null) expect(right(x)).toBe(v.right[i]);
        if (v.parent[i] !== null) expect(parent(x, v.n_leaves)).toBe(v.parent[i]);
        if (v.sibling[i] !== null) expect(sibling(x, v.n_leaves)).toBe(v.sibling[i]);
        // A leaf has no children; only the root has no parent.
        expect(v.left[i] === null).toBe(i % 2 === 0);
        expect(v.parent[i] === null).toBe(i === v.root);
        checked++;
      }
    }
    expect(checked).toBe(2036);
  });
});

interface CryptoBasics {
  cipher_suite: number;
  ref_hash: { label: string; value: string; out: string };
  expand_with_label: { secret: string; label: string; context: string; length: number; out: string };
  derive_secret: { secret: string; label: string; out: string };
  derive_tree_secret: { secret: string; label: string; generation: number; length: number; out: string };
  sign_with_label: { priv: string; pub: string; content: string; label: string; signature: string };
  encrypt_with_label: {
    priv: string;
    pub: string;
    label: string;
    context: string;
    plaintext: string;
    kem_output: string;
    ciphertext: string;
  };
}

describe('crypto-basics vectors', async () => {
  const { run, skipped } = await runnable(loadVectors<CryptoBasics>('crypto-basics'));
  it('runs the suites ts-mls supports here, skipping the others by name', () => {
    expect(run.map((r) => r.v.cipher_suite)).toEqual([1, 2, 5, 7]);
    expect(skipped).toEqual(SKIPPED_SUITES);
  });
  it.each(run.map((r) => [r.name, r] as const))('%s', async (_n, { v, cs }) => {
    expect(tohex(await refhash(v.ref_hash.label, unhex(v.ref_hash.value), cs.hash))).toBe(v.ref_hash.out);
    const e = v.expand_with_label;
    expect(tohex(await expandWithLabel(unhex(e.secret), e.label, unhex(e.context), e.length, cs.kdf))).toBe(e.out);
    const d = v.derive_secret;
    expect(tohex(await deriveSecret(unhex(d.secret), d.label, cs.kdf))).toBe(d.out);
    const t = v.derive_tree_secret;
    expect(tohex(await deriveTreeSecret(unhex(t.secret), t.label, t.generation, t.length, cs.kdf))).toBe(t.out);
    const s = v.sign_with_label;
    expect(await verifyWithLabel(unhex(s.pub), s.label, unhex(s.content), unhex(s.signature), cs.signature)).toBe(true);
    const mine = await signWithLabel(unhex(s.priv), s.label, unhex(s.content), cs.signature);
    expect(await verifyWithLabel(unhex(s.pub), s.label, unhex(s.content), mine, cs.signature)).toBe(true);
    expect(await verifyWithLabel(unhex(s.pub), `${s.label}x`, unhex(s.content), mine, cs.signature)).toBe(false);
    const h = v.encrypt_with_label;
    const priv = await cs.hpke.importPrivateKey(unhex(h.priv));
    const opened = await decryptWithLabel(
      priv,
      h.label,
      unhex(h.context),
      unhex(h.kem_output),
      unhex(h.ciphertext),
      cs.hpke,
    );
    expect(tohex(opened)).toBe(h.plaintext);
    const pub = await cs.hpke.importPublicKey(unhex(h.pub));
    const sealed = await encryptWithLabel(pub, h.label, unhex(h.context), unhex(h.plaintext), cs.hpke);
    expect(tohex(await decryptWithLabel(priv, h.label, unhex(h.context), sealed.enc, sealed.ct, cs.hpke))).toBe(
      h.plaintext,
    );
  });
});

interface SecretTreeVector {
  cipher_suite: number;
  encryption_secret: string;
  sender_data: { sender_data_secret: string; ciphertext: string; key: string; nonce: string };
  leaves: {
    generation: number;
    application_key: string;
    application_nonce: string;
    handshake_key: string;
    handshake_nonce: string;
  }[][];
}

describe('secret-tree vectors', async () => {
  const { run, skipped } = await runnable(loadVectors<SecretTreeVector>('secret-tree'));
  it('runs 12 trees (1, 8 and 32 leaves for 4 suites), skipping 9', () => {
    expect(run).toHaveLength(12);
    expect(skipped).toHaveLength(9);
    expect(new Set(skipped)).toEqual(new Set(SKIPPED_SUITES));
  });
  it.each(run.map((r, i) => [`${r.name} #${i}`, r] as const))('%s', async (_n, { v, cs }) => {
    const sd = v.sender_data;
    expect(tohex(await expandSenderDataKey(cs, unhex(sd.sender_data_secret), unhex(sd.ciphertext)))).toBe(sd.key);
    expect(tohex(await expandSenderDataNonce(cs, unhex(sd.sender_data_secret), unhex(sd.ciphertext)))).toBe(sd.nonce);
    const tree = await createSecretTree(v.leaves.length, unhex(v.encryption_secret), cs.kdf);
    const config = { ...defaultKeyRetentionConfig, maximumForwardRatchetSteps: 1 << 20 };
    for (const [leaf, gens] of v.leaves.entries()) {
      // The secret tree is indexed by node: leaf i is node 2i.
      const node = tree[leafToNodeIndex(toLeafIndex(leaf))]!;
      for (const g of gens) {
        const [app] = await ratchetUntil(node.application, g.generation, config, cs.kdf);
        const [hs] = await ratchetUntil(node.handshake, g.generation, config, cs.kdf);
        expect(tohex(await deriveKey(app.secret, g.generation, cs))).toBe(g.application_key);
        expect(tohex(await deriveNonce(app.secret, g.generation, cs))).toBe(g.application_nonce);
        expect(tohex(await deriveKey(hs.secret, g.generation, cs))).toBe(g.handshake_key);
        expect(tohex(await deriveNonce(hs.secret, g.generation, cs))).toBe(g.handshake_nonce);
      }
    }
  });
});
