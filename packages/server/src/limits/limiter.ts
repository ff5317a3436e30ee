import { AppError, type Clock } from '../core/index.js';
import { LIMITS, type DelayRule, type LimitName, type LimitRule } from './catalogue.js';
import { exactAddress, sourceNetwork } from './address.js';

interface Bucket {
  tokens: number;
  at: number;
}

interface Failures {
  count: number;
  at: number;
}

/** Most failure counters kept at once; the oldest are dropped first (memory stays bounded). */
const MAX_FAILURE_COUNTERS = 100_000;

/**
 * In-memory token buckets keyed by limit name and subject (address, account, device).
 * Buckets that are full again are swept so memory stays bounded.
 * SECURITY (availability): every duration here is measured on the monotonic clock. With wall time, a
 * clock stepped back by an hour drove every bucket used while it was ahead an hour into debt
 * (message.send, connect.address and login.address locked out for the step's length), and a step
 * forward refilled every bucket and forgot every failure delay at once.
 */
export class RateLimiter {
  /** Buckets per limit, then per subject (no key string built per check: this runs several times per send). */
  private readonly buckets = new Map<LimitName, Map<string, Bucket>>();
  private readonly failures = new Map<string, Failures>();
  /** Subjects under a containment's throttle: until (monotonic ms) and the cost factor. */
  private readonly penalties = new Map<string, { until: number; factor: number }>();
  private checks = 0;

  /**
   * `onRefused` hears every refusal: the limit's name (for the refusal counter, which must never see
   * the subject) and its subject (an address, account name, user, device or conversation id; never a
   * secret), for detection. A `*.network` refusal names the address that asked, not the prefix.
   */
  constructor(
    private readonly clock: Clock,
    private readonly rules: Record<LimitName, LimitRule> = LIMITS,
    private readonly onRefused: (name: LimitName, subject: string) => void = () => undefined,
  ) {}

  /**
   * Takes one token or throws `rate_limited` with the delay until one is free. Subjects of the
   * `*.address` limits are canonical addresses, so `::ffff:a.b.c.d` and `a.b.c.d` share one bucket
   * whichever module checks them (login, MFA, passkeys, SSO, connections).
   */
  check(name: LimitName, subject: string, cost = 1): void {
    this.take(name, this.rules[name], name.endsWith('.address') ? exactAddress(subject) : subject, cost);
  }

  /** Like `check`, with a rule of the subject's own (e.g. a service token's configured rate). */
  checkWith(name: LimitName, rule: LimitRule, subject: string, cost = 1): void {
    this.take(name, rule, subject, cost);
  }

  /**
   * Takes one token from the source's exact-address bucket (`<kind>.address`) and from its network's
   * bucket (`<kind>.network`: IPv4 /24, IPv6 /64). SECURITY (S9): a per-address limit alone gives an
   * attacker with a /24 or a /64 a fresh bucket per address; IPv4-mapped IPv6 counts as its IPv4 address.
   */
  checkSource(kind: 'login' | 'enrol', address: string): void {
    // A refusal by the network's bucket is reported with the address that asked (for detection).
    this.take(`${kind}.network`, this.rules[`${kind}.network`], sourceNetwork(address), 1, address);
    this.check(`${kind}.address`, address);
  }

  /** Milliseconds the subject must still wait under a growing-delay rule (0: no wait). */
  delayRemaining(rule: DelayRule, subject: string): number {
    const now = this.clock.monotonic();
    const f = this.failures.get(subject);
    const count = this.liveCount(rule, f, now);
    if (!f || count < rule.free) return 0;
    const wait = Math.min(rule.baseMs * 2 ** (count - rule.free), rule.maxMs);
    return Math.max(0, f.at + wait - now);
  }

  /** Counts one failure for the subject (its delay grows). */
  recordFailure(rule: DelayRule, subject: string): void {
    const now = this.clock.monotonic();
    const count = this.liveCount(rule, this.failures.get(subject), now) + 1;
    this.failures.delete(subject); // re-inserted last: the map stays ordered oldest first
    this.failures.set(subject, { count, at: now });
    if (this.failures.size > MAX_FAILURE_COUNTERS) this.failures.delete(this.failures.keys().next().value as string);
  }

  private liveCount(rule: DelayRule, f: Failures | undefined, now: number): number {
    if (!f || now - f.at >= rule.forgetMs) return 0;
    return rule.decayMs ? Math.max(0, f.count - Math.floor((now - f.at) / rule.decayMs)) : f.count;
  }

  /** Forgets the subject's failures (after a success). */
  clearFailures(subject: string): void {
    this.failures.delete(subject);
  }

  /**
   * Throttles a subject (a canonical address, a network prefix, a user id: the subjects the limits use)
   * for `forMs`: each of its checks costs `factor` times as much, at most a full bucket, so it slows
   * to one request per refill instead of being cut off. A response containment; `liftPenalty` ends it.
   */
  penalise(subject: string, forMs: number, factor = 10): void {
    this.penalties.set(subject, { until: this.clock.monotonic() + forMs, factor });
  }

  /** Ends a subject's throttle. */
  liftPenalty(subject: string): void {
    this.penalties.delete(subject);
  }

  /** The cost factor on the subject now (1: none). */
  penaltyFactor(subject: string): number {
    const p = this.penalties.get(subject);
    if (!p) return 1;
    if (p.until <= this.clock.monotonic()) {
      this.penalties.delete(subject);
      return 1;
    }
    return p.factor;
  }

  private take(name: LimitName, rule: LimitRule, subject: string, baseCost: number, reported = subject): void {
    const cost =
      this.penalties.size === 0
        ? baseCost
        : Math.min(baseCost * this.penaltyFactor(subject), Math.max(baseCost, rule.burst));
    let byName = this.buckets.get(name);
    if (!byName) this.buckets.set(name, (byName = new Map<string, Bucket>()));
    const now = this.clock.monotonic();
    let b = byName.get(subject);
    if (!b) byName.set(subject, (b = { tokens: rule.burst, at: now }));
    b.tokens = Math.min(rule.burst, b.tokens + ((now - b.at) / 1000) * rule.perSecond);
    b.at = now;
    if (b.tokens < cost) {
      const retryAfterMs = Math.ceil(((cost - b.tokens) / rule.perSecond) * 1000);
      this.onRefused(name, reported);
      throw new AppError('rate_limited', `too many requests (${name})`, { retryAfterMs });
    }
    b.tokens -= cost;
    if (++this.checks % 10_000 === 0) this.sweep(now);
  }

  private sweep(now: number): void {
    for (const [name, byName] of this.buckets) {
      const rule = this.rules[name] ?? { burst: 1, perSecond: 1 };
      for (const [subject, b] of byName)
        if (b.tokens + ((now - b.at) / 1000) * rule.perSecond >= rule.burst) byName.delete(subject);
    }
  }
}
