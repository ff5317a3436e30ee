import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { networkOf } from './risk.js';

const octet = fc.integer({ min: 0, max: 255 });
const v4 = fc.tuple(octet, octet, octet, octet);
const dotted = (a: number[]) => a.join('.');
const v6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });
const colon = (g: number[]) => g.map((x) => x.toString(16)).join(':');

describe('networkOf: the /24 or /48 that a login is judged "known" by (properties)', () => {
  it('IPv4: the last octet never matters, any of the first three does, and a mapped address is the same network', () => {
    fc.assert(
      fc.property(v4, octet, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 255 }), (a, last, at, flip) => {
        expect(networkOf(dotted([a[0], a[1], a[2], last]))).toBe(networkOf(dotted(a)));
        expect(networkOf(`::ffff:${dotted(a)}`)).toBe(networkOf(dotted(a)));
        const other = [...a];
        other[at] = other[at]! ^ flip;
        expect(networkOf(dotted(other))).not.toBe(networkOf(dotted(a)));
      }),
      { numRuns: 500 },
    );
  });

  it('IPv6: groups past the first three never matter, any change in the first three does', () => {
    fc.assert(
      fc.property(v6, v6, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 0xffff }), (g, tail, at, flip) => {
        fc.pre(g[0] !== 0 || g[1] !== 0 || g[2] !== 0); // keep clear of the ::/96 and mapped ranges
        const same = [...g.slice(0, 3), ...tail.slice(3)];
        expect(networkOf(colon(same))).toBe(networkOf(colon(g)));
        const other = [...g];
        other[at] = other[at]! ^ flip;
        fc.pre(other[0] !== 0 || other[1] !== 0 || other[2] !== 0);
        expect(networkOf(colon(other))).not.toBe(networkOf(colon(g)));
      }),
      { numRuns: 500 },
    );
  });

  it('an unparseable address is its own network, never grouped with a real one', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }).filter((s) => !/^[0-9a-f:.]*$/i.test(s)),
        v4,
        (junk, a) => {
          expect(networkOf(junk)).not.toBe(networkOf(dotted(a)));
        },
      ),
    );
  });
});
