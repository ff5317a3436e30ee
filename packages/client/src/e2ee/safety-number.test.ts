import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatSafetyNumber,
  safetyNumber,
  sameSafetyNumber,
  SafetyNumberError,
  type SafetyIdentity,
} from './safety-number.js';

const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const identity: fc.Arbitrary<SafetyIdentity> = fc.record({
  userId: fc.string({ minLength: 1, maxLength: 40 }),
  deviceKeys: fc.array(key, { minLength: 1, maxLength: 5 }),
});
const bytes = (fill: number) => new Uint8Array(32).fill(fill);
// 5200 rounds of SHA-512 per side make each number cost ~100 ms in pure JS: keep the runs few.
const runs = { numRuns: 8 };

describe('safety numbers', () => {
  it('are the same whichever side computes them (symmetric)', () => {
    fc.assert(
      fc.property(identity, identity, (a, b) => {
        expect(safetyNumber(a, b)).toBe(safetyNumber(b, a));
      }),
      runs,
    );
  });

  it('have a stable format: 60 digits, shown as 12 groups of 5', () => {
    fc.assert(
      fc.property(identity, identity, (a, b) => {
        const n = safetyNumber(a, b);
        expect(n).toMatch(/^\d{60}$/);
        expect(formatSafetyNumber(n)).toMatch(/^(\d{5} ){11}\d{5}$/);
        expect(formatSafetyNumber(n, { lines: true })).toMatch(
          /^(\d{5} ){3}\d{5}\n(\d{5} ){3}\d{5}\n(\d{5} ){3}\d{5}$/,
        );
        expect(formatSafetyNumber(n).replace(/ /g, '')).toBe(n);
      }),
      runs,
    );
  });

  it('change when any device key of either side changes, or a device is added', () => {
    fc.assert(
      fc.property(identity, identity, fc.nat(), fc.nat(31), key, (a, b, which, byte, extra) => {
        const before = safetyNumber(a, b);
        const i = which % a.deviceKeys.length;
        const changed = a.deviceKeys.map((k, j) => (j === i ? k.slice() : k));
        const flipped = changed[i]!;
        flipped[byte] = flipped[byte]! ^ 0x01;
        fc.pre(!a.deviceKeys.some((k) => k.every((x, j) => x === flipped[j])));
        expect(safetyNumber({ ...a, deviceKeys: changed }, b)).not.toBe(before);
        expect(safetyNumber(b, { ...a, deviceKeys: changed })).not.toBe(before);
        fc.pre(!a.deviceKeys.some((k) => k.every((x, j) => x === extra[j])));
        expect(safetyNumber({ ...a, deviceKeys: [...a.deviceKeys, extra] }, b)).not.toBe(before);
      }),
      runs,
    );
  });

  it('do not depend on the order the devices are listed in, or on duplicates', () => {
    fc.assert(
      fc.property(identity, identity, (a, b) => {
        const reordered = { ...a, deviceKeys: [...a.deviceKeys].reverse().concat([a.deviceKeys[0]!]) };
        expect(safetyNumber(reordered, b)).toBe(safetyNumber(a, b));
      }),
      runs,
    );
  });

  it('bind the user id: the same keys under another id give another number', () => {
    const keys = [bytes(7)];
    const bob = { userId: 'bob', deviceKeys: [bytes(9)] };
    expect(safetyNumber({ userId: 'alice', deviceKeys: keys }, bob)).not.toBe(
      safetyNumber({ userId: 'alicf', deviceKeys: keys }, bob),
    );
  });

  it('keep each side in its half: changing one user changes only one 30-digit half', () => {
    const a = { userId: 'alice', deviceKeys: [bytes(1)] };
    const b = { userId: 'bob', deviceKeys: [bytes(2)] };
    const c = { userId: 'carol', deviceKeys: [bytes(3)] };
    const ab = safetyNumber(a, b);
    const ac = safetyNumber(a, c);
    const halves = (n: string) => [n.slice(0, 30), n.slice(30)];
    expect(halves(ab).filter((h) => halves(ac).includes(h))).toHaveLength(1);
  });

  it('are stable across versions (a fixed vector)', () => {
    const n = safetyNumber(
      { userId: 'alice', deviceKeys: [bytes(1), bytes(2)] },
      { userId: 'bob', deviceKeys: [bytes(3)] },
    );
    expect(formatSafetyNumber(n)).toBe(VECTOR);
  });

  it('compare ignoring spaces and line breaks, and never match anything that is not 60 digits', () => {
    fc.assert(
      fc.property(identity, identity, (a, b) => {
        const n = safetyNumber(a, b);
        expect(sameSafetyNumber(formatSafetyNumber(n), n)).toBe(true);
        expect(sameSafetyNumber(formatSafetyNumber(n, { lines: true }), ` ${n}\n`)).toBe(true);
        const other = n.slice(0, 59) + String((Number(n[59]) + 1) % 10);
        expect(sameSafetyNumber(n, other)).toBe(false);
        expect(sameSafetyNumber(n.slice(0, 55), n.slice(0, 55))).toBe(false);
      }),
      runs,
    );
    expect(sameSafetyNumber('', '')).toBe(false);
    expect(sameSafetyNumber('1'.repeat(60) + 'x', '1'.repeat(60) + 'x')).toBe(false);
  });

  it('refuse a side without id or devices, or with a key that is not 32 bytes', () => {
    const ok = { userId: 'bob', deviceKeys: [bytes(2)] };
    for (const bad of [
      { userId: '', deviceKeys: [bytes(1)] },
      { userId: 'alice', deviceKeys: [] },
      { userId: 'alice', deviceKeys: [new Uint8Array(31)] },
      { userId: 'alice', deviceKeys: ['not bytes'] },
    ]) {
      expect(() => safetyNumber(bad as SafetyIdentity, ok)).toThrow(SafetyNumberError);
    }
    expect(() => formatSafetyNumber('12345')).toThrow(SafetyNumberError);
  });
});

// Computed independently (Python hashlib, from the description in safety-number.ts), not by this code.
const VECTOR = '16297 62598 11643 42619 87773 02965 52401 34445 63961 77602 45003 68898';
