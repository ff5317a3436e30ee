import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MlsError } from './adapter.js';
import { createTsMlsAdapter } from './ts-mls-adapter.js';
import { decodeKeyPackageSecret, decodeMessage, encodeKeyPackageSecret, hex, peekMessage } from './ts-mls-codec.js';
import { allowList, testDevice } from '../test-support/mls.js';

const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof MlsError ? e.code : `foreign: ${String(e)}`;
  }
};

describe('KeyPackage secret codec', () => {
  it('round-trips the private half with its KeyPackage', async () => {
    const d = testDevice();
    const mls = await createTsMlsAdapter({ validate: allowList([d]).validate });
    const kp = await mls.generateKeyPackage(d, 600);
    const { keyPackage, priv } = decodeKeyPackageSecret(kp.secret);
    expect(keyPackage.leafNode.signaturePublicKey).toEqual(d.signaturePublic);
    expect(priv.signaturePrivateKey).toEqual(d.signatureSecret);
    expect(encodeKeyPackageSecret(kp.keyPackage, priv)).toEqual(kp.secret);
    // Truncated or extended: refused.
    expect(codeOf(() => decodeKeyPackageSecret(kp.secret.slice(0, -1)))).toBe('decode');
    expect(codeOf(() => decodeKeyPackageSecret(new Uint8Array([...kp.secret, 0])))).toBe('decode');
  });
  it('refuses garbage with decode, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(codeOf(() => decodeKeyPackageSecret(b))).toBe('decode');
      }),
    );
  });
  it('refuses well-framed fields around something that is not a KeyPackage', () => {
    const junk = encodeKeyPackageSecret(new Uint8Array([0, 1, 0, 5]), {
      initPrivateKey: new Uint8Array(32),
      hpkePrivateKey: new Uint8Array(32),
      signaturePrivateKey: new Uint8Array(32),
    });
    expect(codeOf(() => decodeKeyPackageSecret(junk))).toBe('decode');
  });
});

describe('decodeMessage / peekMessage', () => {
  it('never throws anything but MlsError(decode) on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const c1 = codeOf(() => decodeMessage(b));
        const c2 = codeOf(() => peekMessage(b));
        expect(['decode', 'no error']).toContain(c1);
        expect(c2).toBe(c1);
      }),
      { numRuns: 500 },
    );
  });
  it('garbage with an MLS 1.0 private_message prefix is still refused cleanly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
        expect(['decode', 'no error']).toContain(codeOf(() => peekMessage(new Uint8Array([0, 1, 0, 2, ...b]))));
      }),
      { numRuns: 500 },
    );
  });
  it('hex is lower-case and two digits a byte', () => {
    expect(hex(new Uint8Array([0, 15, 255]))).toBe('000fff');
  });
});
