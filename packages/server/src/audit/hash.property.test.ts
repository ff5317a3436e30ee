import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { randomKey } from '../crypto/index.js';
import { GENESIS_HASH, recordHash, type ChainFields } from './chain.js';

const text = fc.string({ maxLength: 40 });
const nullable = fc.option(text, { nil: null });
const fields: fc.Arbitrary<ChainFields> = fc.record({
  seq: fc.integer({ min: 1, max: 1e9 }),
  ref: text,
  at: fc.integer({ min: 0, max: 2 ** 48 }),
  actorId: nullable,
  action: text,
  target: nullable,
  outcome: fc.constantFrom('success', 'failure'),
  drill: nullable,
  address: nullable,
  details: text,
});

describe('the canonical record encoding', () => {
  const key = randomKey(32);

  it('gives different records different hashes (no field can bleed into another)', () => {
    fc.assert(
      fc.property(fields, fields, (a, b) => {
        const same =
          JSON.stringify(a) ===
          JSON.stringify(Object.fromEntries(Object.keys(a).map((k) => [k, b[k as keyof ChainFields]])));
        expect(recordHash(GENESIS_HASH, a, key) === recordHash(GENESIS_HASH, b, key)).toBe(same);
      }),
      { numRuns: 500 },
    );
  });

  it('moves the hash when any one field changes, the previous hash, or the MAC key', () => {
    const keys = ['seq', 'ref', 'at', 'actorId', 'action', 'target', 'outcome', 'drill', 'address', 'details'] as const;
    fc.assert(
      fc.property(fields, fc.constantFrom(...keys), (f, k) => {
        const h = recordHash(GENESIS_HASH, f, key);
        const v = f[k];
        const changed = { ...f, [k]: typeof v === 'number' ? v + 1 : v === null ? '' : `${v}x` };
        expect(recordHash(GENESIS_HASH, changed, key)).not.toBe(h);
        expect(recordHash('1'.repeat(64), f, key)).not.toBe(h);
        expect(recordHash(GENESIS_HASH, f, randomKey(32))).not.toBe(h);
        expect(h).toMatch(/^[0-9a-f]{64}$/);
      }),
      { numRuns: 500 },
    );
  });
});
