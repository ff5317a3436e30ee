import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, leafHash, nodeHash, verifyConsistency, verifyInclusion } from './merkle.js';

// A naive reference: RFC 9162 2.1.1-2.1.4 written as the recursive definitions (MTH, PATH, PROOF).
const split = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);
const mth = (d: Uint8Array[]): Uint8Array =>
  d.length === 0
    ? EMPTY_ROOT
    : d.length === 1
      ? d[0]!
      : nodeHash(mth(d.slice(0, split(d.length))), mth(d.slice(split(d.length))));
const path = (m: number, d: Uint8Array[]): Uint8Array[] => {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
};
const subproof = (m: number, d: Uint8Array[], b: boolean): Uint8Array[] => {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = split(d.length);
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
};
const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)));
const flip = (h: Uint8Array, bit = 0) => {
  const c = new Uint8Array(h);
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
};
/** Every single-edit tampering of a proof: each hash flipped, one dropped, one added, two swapped. */
function tamperings(proof: Uint8Array[]): Uint8Array[][] {
  const out: Uint8Array[][] = [];
  proof.forEach((_, i) => out.push(proof.map((p, j) => (i === j ? flip(p, i) : p))));
  if (proof.length > 0) out.push(proof.slice(1), proof.slice(0, -1));
  out.push([...proof, EMPTY_ROOT]);
  for (let i = 0; i + 1 < proof.length; i++)
    if (!equal(proof[i]!, proof[i + 1]!))
      out.push([...proof.slice(0, i), proof[i + 1]!, proof[i]!, ...proof.slice(i + 2)]);
  return out;
}
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

describe('RFC 9162 Merkle verification against a naive reference', () => {
  it('hashes leaves and nodes with the 0x00 / 0x01 prefixes (domain separation)', () => {
    const a = leafHash(new Uint8Array([1, 2]));
    expect(a).not.toEqual(nodeHash(new Uint8Array([1]), new Uint8Array([2])));
    expect(Buffer.from(EMPTY_ROOT).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('accepts every inclusion proof for sizes 1..64 and refuses every tampering, wrong index and the next tree root', () => {
    for (let n = 1; n <= 64; n++) {
      const d = leaves(n);
      const root = mth(d);
      const bigger = mth(leaves(n + 1));
      for (let m = 0; m < n; m++) {
        const p = path(m, d);
        expect(verifyInclusion(d[m]!, m, n, p, root), `${m} in ${n}`).toBe(true);
        for (const t of tamperings(p)) expect(verifyInclusion(d[m]!, m, n, t, root)).toBe(false);
        expect(verifyInclusion(flip(d[m]!), m, n, p, root)).toBe(false);
        expect(verifyInclusion(d[m]!, m, n, p, flip(root))).toBe(false);
        if (n > 1) expect(verifyInclusion(d[m]!, (m + 1) % n, n, p, root)).toBe(false);
        // The size is bound by the signed head's root: the proof does not hold in the next tree.
        expect(verifyInclusion(d[m]!, m, n + 1, p, bigger)).toBe(false);
      }
      expect(verifyInclusion(d[0]!, n, n, [], root)).toBe(false);
    }
  });

  it('accepts every consistency proof for sizes 1..64 and refuses every tampering and wrong root or size', () => {
    for (let n = 1; n <= 64; n++) {
      const d = leaves(n);
      const r2 = mth(d);
      const bigger = mth(leaves(n + 1));
      for (let m = 1; m <= n; m++) {
        const r1 = mth(d.slice(0, m));
        const p = m === n ? [] : subproof(m, d, true);
        expect(verifyConsistency(m, n, r1, r2, p), `${m} -> ${n}`).toBe(true);
        if (m === n) continue;
        for (const t of tamperings(p)) expect(verifyConsistency(m, n, r1, r2, t)).toBe(false);
        expect(verifyConsistency(m, n, flip(r1), r2, p)).toBe(false);
        expect(verifyConsistency(m, n, r1, flip(r2), p)).toBe(false);
        expect(verifyConsistency(m, n + 1, r1, bigger, p)).toBe(false);
        if (m > 1) expect(verifyConsistency(m - 1, n, r1, r2, p)).toBe(false);
      }
      expect(verifyConsistency(0, n, EMPTY_ROOT, r2, [])).toBe(true);
      expect(verifyConsistency(0, n, r2, r2, [])).toBe(false);
      expect(verifyConsistency(n, n, r2, flip(r2), [])).toBe(false);
      if (n > 1) expect(verifyConsistency(n, n - 1, r2, r2, [])).toBe(false);
    }
  });

  it('agrees with the reference on random trees up to 3,000 leaves (fast-check)', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 3000 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 1, max: n }))),
        fc.nat(),
        ([n, m, m1], bit) => {
          const d = leaves(n);
          const root = mth(d);
          const p = path(m, d);
          expect(verifyInclusion(d[m]!, m, n, p, root)).toBe(true);
          if (p.length > 0) {
            const i = bit % p.length;
            expect(
              verifyInclusion(
                d[m]!,
                m,
                n,
                p.map((h, j) => (j === i ? flip(h, bit % 256) : h)),
                root,
              ),
            ).toBe(false);
          }
          const c = m1 === n ? [] : subproof(m1, d, true);
          const r1 = mth(d.slice(0, m1));
          expect(verifyConsistency(m1, n, r1, root, c)).toBe(true);
          if (c.length > 0) {
            const i = bit % c.length;
            expect(
              verifyConsistency(
                m1,
                n,
                r1,
                root,
                c.map((h, j) => (j === i ? flip(h, bit % 256) : h)),
              ),
            ).toBe(false);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('never throws on arbitrary input (fast-check)', () => {
    const hash = fc.uint8Array({ minLength: 0, maxLength: 40 });
    fc.assert(
      fc.property(fc.double(), fc.double(), fc.array(hash, { maxLength: 70 }), hash, hash, (a, b, proof, r1, r2) => {
        expect(typeof verifyInclusion(r1, a, b, proof, r2)).toBe('boolean');
        expect(typeof verifyConsistency(a, b, r1, r2, proof)).toBe('boolean');
      }),
    );
  });
});
