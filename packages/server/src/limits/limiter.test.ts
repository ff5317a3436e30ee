import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/index.js';
import { LIMITS, RateLimiter } from './index.js';

describe('rate limiter', () => {
  it('reports each refusal with its limit and the subject that asked (a network refusal: the address)', () => {
    const heard: [string, string][] = [];
    const rl = new RateLimiter(new FakeClock(), LIMITS, (name, subject) => void heard.push([name, subject]));
    const burst = LIMITS['login.network'].burst;
    // Addresses of one /24 share the network bucket; the one refused is named, not the prefix.
    for (let i = 0; i < burst; i++) rl.checkSource('login', `203.0.113.${(i % 200) + 1}`);
    expect(() => rl.checkSource('login', '203.0.113.250')).toThrow();
    expect(heard).toEqual([['login.network', '203.0.113.250']]);
  });

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
