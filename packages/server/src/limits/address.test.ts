import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/index.js';
import { exactAddress, LIMITS, parseAddress, RateLimiter, sourceNetwork } from './index.js';

const hex = (b: number[]) => Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
/** A test-side compressor that may pick any zero run (not only the longest): all spellings must agree. */
function spell(groups: string[], runAt: number, runLen: number, pad: boolean): string {
  const g = groups.map((x) => (pad ? x.padStart(4, '0') : x));
  if (runLen < 1 || !g.slice(runAt, runAt + runLen).every((x) => /^0+$/.test(x))) return g.join(':');
  return `${g.slice(0, runAt).join(':')}::${g.slice(runAt + runLen).join(':')}`;
}

describe('S9: source addresses as rate-limit subjects', () => {
  it('S9: keys IPv4 on the /24 and IPv6 on the /64, whatever the spelling (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), (b) => {
        const a = b.join('.');
        expect(sourceNetwork(a)).toBe(`${b[0]}.${b[1]}.${b[2]}.0/24`);
        expect(exactAddress(a)).toBe(`${a}/32`);
        // IPv4-mapped IPv6 (as a dual-stack socket reports it) is the same subject, dotted or in hex.
        const mappedHex = `::ffff:${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
        for (const m of [`::ffff:${a}`, `::FFFF:${a}`, mappedHex, `0:0:0:0:0:ffff:${a}`]) {
          expect(sourceNetwork(m)).toBe(sourceNetwork(a));
          expect(exactAddress(m)).toBe(exactAddress(a));
        }
      }),
    );
    const bytes16 = fc
      .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })), { minLength: 16, maxLength: 16 })
      .filter((b) => !(b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff));
    fc.assert(
      fc.property(bytes16, fc.nat(7), fc.nat(8), fc.boolean(), (b, at, len, pad) => {
        const groups = hex(b);
        const net = sourceNetwork(groups.join(':'));
        expect(sourceNetwork(spell(groups, at, len, pad))).toBe(net);
        expect(sourceNetwork(spell(groups, at, len, pad).toUpperCase())).toBe(net);
        expect(exactAddress(spell(groups, at, len, pad))).toBe(exactAddress(groups.join(':')));
        // The /64 holds the first four groups and nothing else.
        const other = [...b.slice(0, 8), ...b.slice(8).map((x) => x ^ 0x5a)];
        expect(sourceNetwork(hex(other).join(':'))).toBe(net);
        expect(parseAddress(net.replace(/\/64$/, ''))?.bytes).toEqual([...b.slice(0, 8), 0, 0, 0, 0, 0, 0, 0, 0]);
      }),
    );
  });

  it('S9: refuses garbage as an address but never merges it with a real network', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.256',
      '1::2::3',
      '12345::',
      'g::1',
      '1:2:3:4:5:6:7:8:9',
      '::ffff:1.2.3.999',
    ]) {
      expect(parseAddress(bad)).toBeUndefined();
      expect(sourceNetwork(bad)).toBe(`raw:${bad}`);
    }
    expect(parseAddress('fe80::1%eth0')).toEqual({
      family: 6,
      bytes: [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    });
  });

  it("S9: three addresses of one /24 share the network bucket (the review's 60 x 401, 0 x 429)", () => {
    const rl = new RateLimiter(new FakeClock());
    const codes: string[] = [];
    for (const a of ['127.0.30.1', '127.0.30.2', '127.0.30.3']) {
      for (let i = 0; i < 20; i++) {
        try {
          rl.checkSource('login', a);
          codes.push('ok');
        } catch (e) {
          codes.push((e as { code: string }).code);
        }
      }
    }
    expect(codes.filter((c) => c === 'ok').length).toBe(LIMITS['login.network'].burst); // not 3 x 20
    rl.checkSource('login', '127.0.31.1'); // another /24 is independent
    expect(() => rl.checkSource('login', '::ffff:127.0.30.4')).toThrow(/login\.network/);
    // IPv6: a whole /64 shares one bucket.
    for (let i = 0; i < LIMITS['login.network'].burst; i++)
      rl.checkSource('login', `2001:db8:1:2::${(i + 1).toString(16)}`);
    expect(() => rl.checkSource('login', '2001:db8:1:2:ffff::1')).toThrow(/login\.network/);
    rl.checkSource('login', '2001:db8:1:3::1');
  });

  it('S9: every *.address limit keys on the canonical address (login, MFA, passkeys and SSO share one budget)', () => {
    const rl = new RateLimiter(new FakeClock());
    for (let i = 0; i < LIMITS['login.address'].burst; i++)
      rl.check('login.address', i % 2 ? '::ffff:192.0.2.7' : '192.0.2.7');
    expect(() => rl.checkSource('login', '192.0.2.7')).toThrow(/login\.address/);
    expect(() => rl.check('login.address', '::FFFF:c000:207')).toThrow(/login\.address/);
  });
});
