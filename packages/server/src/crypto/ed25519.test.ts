import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ed25519SignerFromSeed,
  generateEd25519Key,
  isValidEd25519PublicKey,
  sha256Bytes,
  verifyEd25519,
} from './index.js';

interface Vector {
  tcId: number;
  msg: string;
  sig: string;
  result: 'valid' | 'invalid' | 'acceptable';
  flags: string[];
}
interface Group {
  publicKey: { pk: string };
  tests: Vector[];
}

// External test vectors, copied byte for byte into test/vectors/ with their LICENSE and SOURCE.
const file = resolve(import.meta.dirname, '../../../../test/vectors/wycheproof/ed25519_test.json');
const suite = JSON.parse(readFileSync(file, 'utf8')) as { numberOfTests: number; testGroups: Group[] };

describe('Ed25519 device-proof verification against Wycheproof (eddsa_verify)', () => {
  const all = suite.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));

  it('runs every vector in the file', () => {
    expect(all.length).toBe(suite.numberOfTests);
  });

  it.each(all.map(({ g, t }) => [t.tcId, t.result, g, t] as const))('vector %i (%s)', (_id, result, g, t) => {
    const ok = verifyEd25519(Buffer.from(g.publicKey.pk, 'hex'), Buffer.from(t.msg, 'hex'), Buffer.from(t.sig, 'hex'));
    // There are no "acceptable" Ed25519 vectors; were one added, we reject it (strict verification).
    expect(ok).toBe(result === 'valid');
  });

  it('refuses malformed keys instead of throwing', () => {
    expect(isValidEd25519PublicKey(new Uint8Array(31))).toBe(false);
    expect(verifyEd25519(new Uint8Array(0), new Uint8Array(0), new Uint8Array(64))).toBe(false);
  });
});

describe('Ed25519 signing (the organisation key)', () => {
  // RFC 8032 section 7.1, TEST 1 and TEST 2 (secret key, public key, message, signature).
  const rfc = [
    {
      seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      msg: '',
      sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    },
    {
      seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      msg: '72',
      sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    },
  ];

  it.each(rfc)('derives the public key and signs as RFC 8032 says ($pub)', ({ seed, pub, msg, sig }) => {
    const s = ed25519SignerFromSeed(Buffer.from(seed, 'hex'));
    expect(Buffer.from(s.publicKey).toString('hex')).toBe(pub);
    expect(Buffer.from(s.sign(Buffer.from(msg, 'hex'))).toString('hex')).toBe(sig);
  });

  it('a generated key signs what verifyEd25519 accepts, and nothing else', () => {
    const { seed, signer } = generateEd25519Key();
    expect(seed).toHaveLength(32);
    const m = new TextEncoder().encode('palisade-kt-head-v1:{}');
    const sig = signer.sign(m);
    expect(verifyEd25519(signer.publicKey, m, sig)).toBe(true);
    expect(verifyEd25519(signer.publicKey, new TextEncoder().encode('palisade-kt-head-v1:{ }'), sig)).toBe(false);
    expect(Buffer.from(ed25519SignerFromSeed(seed).publicKey)).toEqual(Buffer.from(signer.publicKey));
    expect(() => ed25519SignerFromSeed(new Uint8Array(31))).toThrow();
  });

  it('sha256Bytes hashes the concatenation of its parts', () => {
    expect(Buffer.from(sha256Bytes()).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(sha256Bytes(Buffer.from('ab'), Buffer.from('c'))).toEqual(sha256Bytes(Buffer.from('abc')));
  });
});
