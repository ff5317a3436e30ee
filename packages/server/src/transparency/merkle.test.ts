import fc from 'fast-check';
import { verifyConsistency, verifyInclusion } from '@palisade/client';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  EMPTY_ROOT,
  frontierAppend,
  frontierRoot,
  inclusionPath,
  leafHash,
  rootOf,
  type FrontierNode,
  type SubtreeMemo,
} from './merkle.js';

const leaves = (n: number) =>
  Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`credential ${i}`)));

describe("the server's Merkle tree", () => {
  it('the frontier gives the same root as the whole tree after every append (sizes 0..300)', () => {
    const d = leaves(300);
    let f: FrontierNode[] = [];
    expect(frontierRoot(f)).toEqual(EMPTY_ROOT);
    for (let n = 1; n <= d.length; n++) {
      f = frontierAppend(f, d[n - 1]!);
      expect(frontierRoot(f)).toEqual(rootOf(d.slice(0, n)));
      expect(f.map((x) => x.size).reduce((a, b) => a + b, 0)).toBe(n);
    }
  });

  it('memoized proofs over a growing log equal fresh ones, and the client verifies them (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        (steps, seed) => {
          const all = leaves(steps.reduce((a, b) => a + b, 0));
          const grown: Uint8Array[] = [];
          const memo: SubtreeMemo = new Map();
          for (const step of steps) {
            grown.push(...all.slice(grown.length, grown.length + step));
            const n = grown.length;
            const root = rootOf(grown, 0, n, memo);
            expect(root).toEqual(rootOf(all.slice(0, n)));
            const m = seed % n;
            const p = inclusionPath(grown, m, n, memo);
            expect(p).toEqual(inclusionPath(all.slice(0, n), m, n));
            expect(verifyInclusion(grown[m]!, m, n, p, root)).toBe(true);
            const from = (seed % n) + 1;
            const c = consistencyProof(grown, from, n, memo);
            expect(c).toEqual(consistencyProof(all.slice(0, n), from, n));
            expect(verifyConsistency(from, n, rootOf(grown, 0, from), root, c)).toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses out-of-range requests instead of answering a wrong proof', () => {
    const d = leaves(5);
    expect(() => inclusionPath(d, 5, 5)).toThrow(RangeError);
    expect(() => inclusionPath(d, 0, 6)).toThrow(RangeError);
    expect(() => consistencyProof(d, 3, 2)).toThrow(RangeError);
    expect(consistencyProof(d, 0, 5)).toEqual([]);
    expect(consistencyProof(d, 5, 5)).toEqual([]);
  });
});
