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
    expect(reasons('tq7vbr2kx9wmp4h')).toEqual([]); // 15
    expect(reasons('tq7vbr2kx9wmp4').length).toBe(1); // 14
    expect(reasons('🐴🦊🔋📎🌍🍄🎲🧲🪁🦉🌵🎻🧊🪐x')).toEqual([]); // 15 code points, 29 UTF-16 units
  });

  it('v5.0.0-6.2.9 accepts at least 64 characters and any composition', () => {
    expect(reasons('orbit lantern velvet glacier tulip quarry mango harbour kettle 7!')).toEqual([]); // 64
    fc.assert(
      fc.property(fc.string({ minLength: 15, maxLength: 64, unit: 'grapheme' }), (pw) => {
        const r = reasons(pw);
        return r.every((x) => !/upper|lower|digit|symbol|special/i.test(x));
      }),
    );
  });

  it('v5.0.0-6.2.4 rejects passwords on the common-password blocklist, case-insensitively', () => {
    expect(reasons('1qaz2wsx3edc4rfv').some((r) => /common/.test(r))).toBe(true);
    expect(reasons('QWERTY123456789').some((r) => /common/.test(r))).toBe(true);
    expect(reasons('qwerty tulip 9 orbit lantern')).toEqual([]);
  });

  it('v5.0.0-6.2.11 rejects passwords built around context words', () => {
    expect(reasons('marguerite2026!!!', ['marguerite']).some((r) => /user name/.test(r))).toBe(true);
    expect(reasons('palisade-palisade', ['palisade']).length).toBeGreaterThan(0);
    expect(reasons('my dog marguerite eats carrots daily', ['marguerite'])).toEqual([]);
  });

  it('S17: refuses every weak long password of the review, with a reason that does not echo it', () => {
    const review = [
      '123456789012345',
      'qwertyuiopasdfgh',
      '1111111111111112',
      'abcabcabcabcabca',
      'Password1234567!',
      'P@ssw0rdP@ssw0rd',
      'iloveyouiloveyou',
      'letmeinletmein12',
      'correct horse battery staple',
      'passwordpassword',
      'aaaaaaaaaaaaaaa',
    ];
    for (const pw of [
      ...review,
      'correct horse battery staple 42',
      'Qwerty1234567890',
      'zxcvbnmzxcvbnm!!',
      '0987654321098765',
      'L3tM31nL3tM31n!!',
      'dragon2026dragon',
    ]) {
      const r = reasons(pw);
      expect(r, pw).not.toEqual([]);
      expect(r.join(' '), pw).not.toContain(pw);
      expect(r.join(' ')).toMatch(/refused: it (is|follows|uses|repeats)/);
    }
  });

  it('S17: accepts long random-ish passphrases (property) and real-looking ones', () => {
    for (const pw of [
      'tulip quarry velvet mango 7',
      'glacier-orbit-pepper-lantern',
      'purple elephant dances quietly',
      'x7#Lq9!vRt2&mZp4',
    ])
      expect(reasons(pw), pw).toEqual([]);
    const words = [
      'tulip',
      'quarry',
      'velvet',
      'mango',
      'orbit',
      'lantern',
      'glacier',
      'pepper',
      'harbour',
      'kettle',
      'meadow',
      'cobalt',
      'saffron',
      'walrus',
      'prism',
      'fjord',
    ];
    fc.assert(
      fc.property(
        fc.shuffledSubarray(words, { minLength: 4, maxLength: 4 }),
        fc.constantFrom(' ', '-', '.'),
        (ws, sep) => reasons(ws.join(sep)).length === 0,
      ),
      { numRuns: 40 },
    );
    const alphabet = 'abcdefghijkmnopqrstuvwxyz23456789-.';
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...alphabet), { minLength: 20, maxLength: 40 }),
        (cs) => reasons(cs.join('')).length === 0,
      ),
      { numRuns: 15 },
    );
  });

  it("S17: refuses passwords built around the organisation's name (context words)", () => {
    expect(reasons('Acme Corporation 2026!', ['alice', 'Acme Corporation']).length).toBeGreaterThan(0);
    expect(reasons('acmecorporation!acmecorporation', ['Acme Corporation']).length).toBeGreaterThan(0);
    expect(reasons('acme orbit lantern velvet glacier', ['Acme'])).toEqual([]);
  });

  it('never alters what was typed (no trimming, no case folding): the check is pure', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (pw) => {
        const copy = `${pw}`;
        reasons(pw);
        return copy === pw;
      }),
    );
  });
});
