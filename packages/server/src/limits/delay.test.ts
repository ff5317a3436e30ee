import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/index.js';
import { LOGIN_FAILURE_DELAY, LOGIN_SOURCE_DELAY, RateLimiter } from './index.js';

describe('growing delays', () => {
  it('S7: the first failures are free, then the wait doubles up to the cap, and a success forgets it', () => {
    const clock = new FakeClock();
    const rl = new RateLimiter(clock);
    const rule = LOGIN_FAILURE_DELAY;
    for (let i = 0; i < rule.free; i++) {
      expect(rl.delayRemaining(rule, 's')).toBe(0);
      rl.recordFailure(rule, 's');
    }
    expect(rl.delayRemaining(rule, 's')).toBe(rule.baseMs);
    rl.recordFailure(rule, 's');
    expect(rl.delayRemaining(rule, 's')).toBe(rule.baseMs * 2);
    clock.advance(rule.baseMs);
    expect(rl.delayRemaining(rule, 's')).toBe(rule.baseMs);
    for (let i = 0; i < 20; i++) rl.recordFailure(rule, 's');
    expect(rl.delayRemaining(rule, 's')).toBe(rule.maxMs);
    expect(rl.delayRemaining(rule, 'other')).toBe(0);
    rl.clearFailures('s');
    expect(rl.delayRemaining(rule, 's')).toBe(0);
    for (let i = 0; i <= rule.free; i++) rl.recordFailure(rule, 's');
    clock.advance(rule.forgetMs);
    expect(rl.delayRemaining(rule, 's')).toBe(0);
  });

  it('S7: with a decay, a shared address recovers one failure per period', () => {
    const clock = new FakeClock();
    const rl = new RateLimiter(clock);
    const rule = LOGIN_SOURCE_DELAY;
    for (let i = 0; i < rule.free + 2; i++) rl.recordFailure(rule, 'a');
    expect(rl.delayRemaining(rule, 'a')).toBe(rule.baseMs * 4);
    clock.advance(rule.decayMs! * 3); // three failures forgiven: below the free allowance again
    expect(rl.delayRemaining(rule, 'a')).toBe(0);
    rl.recordFailure(rule, 'a'); // 9 left + 1: at the allowance, the shortest wait again
    expect(rl.delayRemaining(rule, 'a')).toBe(rule.baseMs);
  });
});
