import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/index.js';
import { AddressBlocks, canonicalBlock, RateLimiter } from './index.js';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));

describe('address blocks (response containments)', () => {
  it('canonicalises addresses and prefixes, refusing loopback, huge ranges and junk', () => {
    expect(canonicalBlock('198.51.100.7')).toBe('198.51.100.7/32');
    expect(canonicalBlock('203.0.113.77/24')).toBe('203.0.113.0/24');
    expect(canonicalBlock('2001:0db8:0:0::1/48')).toBe('2001:db8::/48');
    for (const bad of [
      '127.0.0.1',
      '127.0.0.0/8',
      '::1',
      '::/8',
      '10.0.0.0/4',
      '1.2.3.4/33',
      'x',
      '',
      '::ffff:1.2.3.4',
    ])
      expect(canonicalBlock(bad), bad).toBeUndefined();
  });

  it('blocks what a prefix covers until it ends; never loopback or a non-IP source (the admin socket)', () => {
    const clock = new FakeClock();
    const b = new AddressBlocks({ clock });
    b.replace([
      { prefix: '203.0.113.0/24', until: clock.now() + 1000 },
      { prefix: '2001:db8::/48', until: null },
      { prefix: '127.0.0.1', until: null }, // ignored: never blocked
    ]);
    expect(b.isBlocked('203.0.113.200')).toBe(true);
    expect(b.isBlocked('::ffff:203.0.113.200')).toBe(true);
    expect(b.isBlocked('203.0.114.1')).toBe(false);
    expect(b.isBlocked('2001:db8:0:ffff::1')).toBe(true);
    expect(b.isBlocked('2001:db9::1')).toBe(false);
    expect(b.isBlocked('127.0.0.1')).toBe(false);
    expect(b.isBlocked('/run/palisade/admin.sock')).toBe(false);
    expect(() => b.assertNotBlocked('203.0.113.5')).toThrow(expect.objectContaining({ code: 'address_blocked' }));
    clock.advance(1000);
    expect(b.isBlocked('203.0.113.200')).toBe(false);
  });

  it('property: a block of any IPv4 address and prefix length covers the address, and never loopback', () => {
    const clock = new FakeClock();
    fc.assert(
      fc.property(ipv4, fc.integer({ min: 8, max: 32 }), ipv4, (a, bits, other) => {
        const prefix = canonicalBlock(`${a}/${bits}`);
        const b = new AddressBlocks({ clock });
        b.replace(prefix === undefined ? [] : [{ prefix, until: null }]);
        if (a.startsWith('127.')) return prefix === undefined;
        if (!b.isBlocked(a) || b.isBlocked(`127.${other.split('.').slice(1).join('.')}`)) return false;
        // Inside the prefix exactly when the first `bits` bits agree.
        const n = (s: string) => s.split('.').reduce((x, o) => x * 256 + Number(o), 0);
        const mask = bits === 0 ? 0 : Math.floor(n(a) / 2 ** (32 - bits)) === Math.floor(n(other) / 2 ** (32 - bits));
        return other.startsWith('127.') || b.isBlocked(other) === mask;
      }),
      { numRuns: 500 },
    );
  });

  it('a throttle makes each check of the subject cost more (at most a bucket) until it ends or is lifted', () => {
    const clock = new FakeClock();
    const rl = new RateLimiter(clock);
    rl.penalise('198.51.100.7/32', 60_000, 10);
    expect(rl.penaltyFactor('198.51.100.7/32')).toBe(10);
    let n = 0;
    try {
      for (; n < 100; n++) rl.check('login.address', '198.51.100.7');
    } catch {
      /* refused */
    }
    let m = 0;
    try {
      for (; m < 100; m++) rl.check('login.address', '198.51.100.8');
    } catch {
      /* refused */
    }
    // login.address: a burst of 20; under a x10 throttle each check costs 10.
    expect([n, m]).toEqual([2, 20]);
    clock.advance(60_000);
    expect(rl.penaltyFactor('198.51.100.7/32')).toBe(1);
    rl.penalise('x', 60_000);
    rl.liftPenalty('x');
    expect(rl.penaltyFactor('x')).toBe(1);
  });
});
