import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  aesKeyUnwrap,
  aesKeyUnwrapPad,
  aesKeyWrap,
  aesKeyWrapPad,
  CryptoShapeError,
  hkdfSha256,
  hmacSha256Verify,
  x25519,
} from './index.js';

// External test vectors, copied byte for byte into test/vectors/ with their LICENSE and SOURCE.
type Vector = Record<string, string | number | string[]> & { tcId: number; result: 'valid' | 'invalid' | 'acceptable' };
type Group = Record<string, unknown> & { tests: Vector[] };
function load(name: string): { numberOfTests: number; testGroups: Group[] } {
  return JSON.parse(
    readFileSync(resolve(import.meta.dirname, `../../../../test/vectors/wycheproof/${name}_test.json`), 'utf8'),
  ) as { numberOfTests: number; testGroups: Group[] };
}
const hex = (s: unknown) => Buffer.from(String(s), 'hex');
function cases(name: string) {
  const f = load(name);
  const all = f.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));
  expect(all.length).toBe(f.numberOfTests);
  return all;
}
/** Runs `fn`; returns 'shape' when the wrapper refuses the shape, 'fail' on any other throw. */
function outcome<T>(fn: () => T): T | 'shape' | 'fail' {
  try {
    return fn();
  } catch (e) {
    return e instanceof CryptoShapeError ? 'shape' : 'fail';
  }
}

describe('Wycheproof through the crypto module (SECURITY-BASELINE: every vector behaves as its result says)', () => {
  it('aes_gcm: 256-bit key, 96-bit nonce, 128-bit tag per result; every other shape refused', () => {
    let checked = 0;
    for (const { g, t } of cases('aes_gcm')) {
      const supported = g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128;
      const dec = outcome(() => aesGcmDecrypt(hex(t.key), hex(t.iv), hex(t.ct), hex(t.tag), hex(t.aad)));
      if (!supported) {
        expect(dec, `tc ${t.tcId}`).toBe('shape');
        continue;
      }
      checked++;
      if (t.result === 'valid') {
        expect((dec as Buffer).toString('hex'), `tc ${t.tcId}`).toBe(t.msg);
        const enc = aesGcmEncrypt(hex(t.key), hex(t.iv), hex(t.msg), hex(t.aad));
        expect(enc.ct.toString('hex') + enc.tag.toString('hex')).toBe(String(t.ct) + String(t.tag));
      } else expect(dec, `tc ${t.tcId}`).toBe('fail');
    }
    expect(checked).toBeGreaterThan(60);
  });

  for (const [name, wrap, unwrap] of [
    ['aes_wrap', aesKeyWrap, aesKeyUnwrap],
    ['aes_kwp', aesKeyWrapPad, aesKeyUnwrapPad],
  ] as const) {
    it(`${name}: valid vectors wrap and unwrap exactly; invalid ones are refused; acceptable ones by our stated choice`, () => {
      for (const { t } of cases(name)) {
        const unwrapped = outcome(() => unwrap(hex(t.key), hex(t.ct)));
        if (t.result === 'valid') {
          expect((unwrapped as Buffer).toString('hex'), `tc ${t.tcId}`).toBe(t.msg);
          expect(wrap(hex(t.key), hex(t.msg)).toString('hex'), `tc ${t.tcId}`).toBe(t.ct);
        } else if (t.result === 'invalid') {
          expect(['fail', 'shape'], `tc ${t.tcId}`).toContain(unwrapped);
        } else {
          // Acceptable: RFC 3394 wrapping of 8-byte key data. Our choice: refuse it both ways.
          expect(hex(t.msg).length, `tc ${t.tcId}`).toBeLessThan(16);
          expect(unwrapped).toBe('fail');
          expect(outcome(() => wrap(hex(t.key), hex(t.msg)))).toBe('shape');
        }
      }
    });
  }

  it('hkdf_sha256: valid outputs match; invalid sizes are refused', () => {
    for (const { t } of cases('hkdf_sha256')) {
      const okm = outcome(() => hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), Number(t.size)));
      if (t.result === 'valid') expect((okm as Buffer).toString('hex'), `tc ${t.tcId}`).toBe(t.okm);
      else expect(okm, `tc ${t.tcId}`).toBe('shape');
    }
  });

  it('hmac_sha256: full-length tags per result; truncated tags refused', () => {
    for (const { g, t } of cases('hmac_sha256')) {
      const ok = outcome(() => hmacSha256Verify(hex(t.key), hex(t.msg), hex(t.tag)));
      if (g.tagSize !== 256) expect(ok, `tc ${t.tcId}`).toBe('shape');
      else expect(ok, `tc ${t.tcId}`).toBe(t.result === 'valid');
    }
  });

  it('x25519: valid shared secrets match; acceptable ones match unless they are all zero (refused)', () => {
    let zeroRefused = 0;
    for (const { t } of cases('x25519')) {
      const shared = outcome(() => x25519(hex(t.private), hex(t.public)));
      const zero = /^0+$/.test(String(t.shared));
      if (t.result === 'valid' || (t.result === 'acceptable' && !zero))
        expect((shared as Buffer).toString('hex'), `tc ${t.tcId}`).toBe(t.shared);
      else if (zero) {
        expect(shared, `tc ${t.tcId}`).toBe('fail');
        zeroRefused++;
      } else expect(shared, `tc ${t.tcId}`).toBe('fail');
    }
    expect(zeroRefused).toBeGreaterThan(0);
  });
});
