import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/index.js';
import { LIMITS, RateLimiter } from './index.js';

describe('rate limiter', () => {
  it('v5.0.0-6.3.1 allows the burst, refuses the next with a retry delay, and refills over time', () => {
    const clock = new FakeClock();
    const rl = new RateLimiter(clock);
    const rule = LIMITS['login.account'];
    for (let i = 0; i < rule.burst; i++) rl.check('login.account', 'alice');
    let err: { code?: string; retryAfterMs?: number } = {};
    try {
      rl.check('login.account', 'alice');
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe('rate_limited');
    expect(err.retryAfterMs).toBe(Math.ceil(1000 / rule.perSecond));
    rl.check('login.account', 'bob'); // other subjects are independent
    clock.advance(err.retryAfterMs!);
    rl.check('login.account', 'alice');
    expect(() => rl.check('login.account', 'alice')).toThrow();
  });
});
