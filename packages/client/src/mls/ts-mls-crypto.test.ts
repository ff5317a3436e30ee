import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cachedKeyProvider, ed25519Signature, suiteImpl, type Ed25519Variant } from './ts-mls-crypto.js';

const variants: Ed25519Variant[] = ['webcrypto-cached', 'webcrypto-uncached', 'noble'];

describe('ed25519Signature', () => {
  it('every variant makes RFC 8032 signatures the others (and noble) verify', async () => {
    const sk = ed25519.utils.randomSecretKey();
    const pk = ed25519.getPublicKey(sk);
    const msg = new TextEncoder().encode('MLS 1.0 label');
    for (const v of variants) {
      const s = ed25519Signature(v);
      const sig = await s.sign(sk, msg);
      // Ed25519 is deterministic: every implementation gives the same bytes.
      expect(sig).toEqual(ed25519.sign(msg, sk));
      for (const w of variants) expect(await ed25519Signature(w).verify(pk, msg, sig)).toBe(true);
    }
  });

  it('the cached variant gives the same answers over repeated and interleaved keys', async () => {
    const s = ed25519Signature('webcrypto-cached');
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 64 }),
        async (sk, m) => {
          const pk = ed25519.getPublicKey(sk);
          const sig = await s.sign(sk, m);
          expect(sig).toEqual(ed25519.sign(m, sk));
          expect(await s.verify(pk, m, sig)).toBe(true);
          const bad = sig.slice();
          bad[0]! ^= 1;
          expect(await s.verify(pk, m, bad)).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('verify says false (never throws) for malformed keys and signatures', async () => {
    for (const v of variants) {
      const s = ed25519Signature(v);
      expect(await s.verify(new Uint8Array(31), new Uint8Array(1), new Uint8Array(64))).toBe(false);
      expect(await s.verify(new Uint8Array(32).fill(0xff), new Uint8Array(1), new Uint8Array(64))).toBe(false);
      expect(await s.verify(ed25519.getPublicKey(new Uint8Array(32)), new Uint8Array(1), new Uint8Array(3))).toBe(
        false,
      );
    }
  });

  it('keygen makes a working 32-byte seed and its public key', async () => {
    const s = ed25519Signature();
    const { signKey, publicKey } = await s.keygen();
    expect(signKey).toHaveLength(32);
    expect(publicKey).toEqual(ed25519.getPublicKey(signKey));
  });
});

describe('cachedKeyProvider / suiteImpl', () => {
  it('replaces Ed25519 only; both suites get a working implementation', async () => {
    for (const suite of [
      'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
      'MLS_256_XWING_AES256GCM_SHA512_Ed25519',
    ] as const) {
      const cs = await suiteImpl(suite);
      expect(cs.name).toBe(suite);
      const sk = ed25519.utils.randomSecretKey();
      const sig = await cs.signature.sign(sk, new Uint8Array([1]));
      expect(ed25519.verify(sig, new Uint8Array([1]), ed25519.getPublicKey(sk))).toBe(true);
    }
    const p256 = await cachedKeyProvider().getCiphersuiteImpl({
      name: 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256',
      hash: 'SHA-256',
      signature: 'P256',
      hpke: { kem: 'DHKEM-P256-HKDF-SHA256', kdf: 'HKDF-SHA256', aead: 'AES128GCM' },
    });
    const kp = await p256.signature.keygen();
    expect(kp.publicKey.length).toBeGreaterThan(32);
  });
});
