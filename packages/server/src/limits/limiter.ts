import { AppError, type Clock } from '../core/index.js';
import { LIMITS, type LimitName, type LimitRule } from './catalogue.js';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * In-memory token buckets keyed by limit name and subject (address, account, device).
 * Buckets that are full again are swept so memory stays bounded.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private checks = 0;

  constructor(
    private readonly clock: Clock,
    private readonly rules: Record<LimitName, LimitRule> = LIMITS,
  ) {}

  /** Takes one token or throws `rate_limited` with the delay until one is free. */
  check(name: LimitName, subject: string, cost = 1): void {
    this.take(name, this.rules[name], subject, cost);
  }

  /** Like `check`, with a rule of the subject's own (e.g. a service token's configured rate). */
  checkWith(name: LimitName, rule: LimitRule, subject: string, cost = 1): void {
    this.take(name, rule, subject, cost);
  }

  private take(name: LimitName, rule: LimitRule, subject: string, cost: number): void {
    const key = `${name}\u0000${subject}`;
    const now = this.clock.now();
    const b = this.buckets.get(key) ?? { tokens: rule.burst, at: now };
    b.tokens = Math.min(rule.burst, b.tokens + ((now - b.at) / 1000) * rule.perSecond);
    b.at = now;
    if (b.tokens < cost) {
      this.buckets.set(key, b);
      const retryAfterMs = Math.ceil(((cost - b.tokens) / rule.perSecond) * 1000);
      throw new AppError('rate_limited', `too many requests (${name})`, { retryAfterMs });
    }
    b.tokens -= cost;
    this.buckets.set(key, b);
    if (++this.checks % 10_000 === 0) this.sweep(now);
  }

  private sweep(now: number): void {
    for (const [key, b] of this.buckets) {
      const rule = this.rules[key.slice(0, key.indexOf('\u0000')) as LimitName] ?? { burst: 1, perSecond: 1 };
      if (b.tokens + ((now - b.at) / 1000) * rule.perSecond >= rule.burst) this.buckets.delete(key);
    }
  }
}
