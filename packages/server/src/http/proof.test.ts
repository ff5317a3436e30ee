import { describe, expect, it } from 'vitest';
import { isAppError } from '../core/index.js';
import { ProofReplayCache } from './proof.js';

const codeOf = (f: () => void): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return isAppError(e) ? e.code : 'other';
  }
};

describe('S6: the proof replay cache', () => {
  it('S6: refuses a (time, signature) seen before on the same device, not on another device', () => {
    const c = new ProofReplayCache(30_000, 100);
    const now = 1_000_000;
    expect(codeOf(() => c.remember('d1', now, 'sig', now))).toBeUndefined();
    expect(codeOf(() => c.remember('d1', now, 'sig', now + 10))).toBe('device_proof_failed');
    expect(codeOf(() => c.remember('d2', now, 'sig', now + 10))).toBeUndefined();
  });

  it('S6: is bounded: entries leave with the window, and a device over its cap is rate limited', () => {
    const c = new ProofReplayCache(30_000, 3);
    const now = 1_000_000;
    for (let i = 0; i < 3; i++) c.remember('d1', now + i, `s${i}`, now + i);
    expect(codeOf(() => c.remember('d1', now + 3, 's3', now + 3))).toBe('rate_limited');
    // Once the window has passed, old entries are dropped and the device may go on.
    expect(codeOf(() => c.remember('d1', now + 30_010, 's4', now + 30_010))).toBeUndefined();
    expect(c.size).toBe(1);
    c.remember('d2', now + 30_020, 'x', now + 30_020);
    // A later sweep forgets devices whose entries all expired.
    c.remember('d3', now + 90_000, 'y', now + 90_000);
    expect(c.size).toBe(1);
  });
});
