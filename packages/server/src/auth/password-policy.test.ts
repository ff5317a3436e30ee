import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertPasswordAcceptable, MIN_SINGLE_FACTOR_LENGTH } from './password-policy.js';

const reasons = (pw: string, ctx: string[] = []) => {
  try {
    assertPasswordAcceptable(pw, ctx);
    return [];
  } catch (e) {
    return (e as { details: { reasons: string[] } }).details.reasons;
  }
};

describe('password policy (SECURITY-BASELINE, 800-63B-4 §3.1.1.2)', () => {
  it('v5.0.0-6.2.1 requires 15 code points for a single-factor password, counted in code points', () => {
    expect(MIN_SINGLE_FACTOR_LENGTH).toBe(15);
    expect(reasons('a'.repeat(3) + 'bcdefghijklm')).toEqual([]); // 15
    expect(reasons('abcdefghijklmn').length).toBe(1); // 14
    expect(reasons('🐴🐴🔋📎🌍🐴🔋📎🌍🐴🔋📎🌍🐴x')).toEqual([]); // 15 code points, 29 UTF-16 units
  });

  it('v5.0.0-6.2.9 accepts at least 64 characters and any composition', () => {
    expect(reasons('x'.repeat(20) + 'y'.repeat(44))).toEqual([]);
    fc.assert(fc.property(fc.string({ minLength: 15, maxLength: 64, unit: 'grapheme' }), (pw) => {
      const r = reasons(pw);
      return r.every((x) => !/upper|lower|digit|symbol|special/i.test(x));
    }));
  });

  it('v5.0.0-6.2.4 rejects passwords on the common-password blocklist, case-insensitively', () => {
    expect(reasons('1qaz2wsx3edc4rfv').some((r) => /common/.test(r))).toBe(true);
    expect(reasons('QWERTY123456789').some((r) => /common/.test(r))).toBe(true);
    expect(reasons('qwerty123456789x')).toEqual([]);
  });

  it('v5.0.0-6.2.11 rejects passwords built around context words', () => {
    expect(reasons('marguerite2026!!!', ['marguerite']).some((r) => /user name/.test(r))).toBe(true);
    expect(reasons('palisade-palisade', ['palisade']).length).toBeGreaterThan(0);
    expect(reasons('my dog marguerite eats carrots daily', ['marguerite'])).toEqual([]);
  });

  it('never alters what was typed (no trimming, no case folding): the check is pure', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (pw) => {
      const copy = `${pw}`;
      reasons(pw);
      return copy === pw;
    }));
  });
});
