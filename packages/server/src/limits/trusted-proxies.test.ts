import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrustedProxies } from './index.js';

describe('TrustedProxies (X-Forwarded-For from configured proxies only)', () => {
  const proxies = new TrustedProxies(['10.0.0.0/8', '::1', 'fd00::/8']);

  it('matches addresses and blocks, IPv4-mapped IPv6 as IPv4', () => {
    expect(proxies.trusts('10.1.2.3')).toBe(true);
    expect(proxies.trusts('::ffff:10.1.2.3')).toBe(true);
    expect(proxies.trusts('11.0.0.1')).toBe(false);
    expect(proxies.trusts('::1')).toBe(true);
    expect(proxies.trusts('fd12::5')).toBe(true);
    expect(proxies.trusts('fe80::1')).toBe(false);
    expect(proxies.trusts('not an address')).toBe(false);
    expect(new TrustedProxies(['192.0.2.0/25']).trusts('192.0.2.127')).toBe(true);
    expect(new TrustedProxies(['192.0.2.0/25']).trusts('192.0.2.128')).toBe(false);
    expect(new TrustedProxies(['::ffff:10.0.0.0/104']).trusts('10.9.9.9')).toBe(true);
  });

  it('ignores the header from a peer that is not a trusted proxy', () => {
    expect(proxies.clientAddress('203.0.113.9', '198.51.100.1')).toBe('203.0.113.9');
    expect(new TrustedProxies([]).clientAddress('10.0.0.1', '198.51.100.1')).toBe('10.0.0.1');
  });

  it('takes the nearest hop the trusted proxies did not write, from the right', () => {
    expect(proxies.clientAddress('10.0.0.1', '198.51.100.7')).toBe('198.51.100.7');
    // A client that forges the left part of the header gains nothing.
    expect(proxies.clientAddress('10.0.0.1', '127.0.0.1, 198.51.100.7')).toBe('198.51.100.7');
    // Two proxies in a row (edge 10.0.0.2 in front of 10.0.0.1).
    expect(proxies.clientAddress('10.0.0.1', '198.51.100.7, 10.0.0.2')).toBe('198.51.100.7');
    expect(proxies.clientAddress('10.0.0.1', ['198.51.100.7', '10.0.0.2'])).toBe('198.51.100.7');
    // Every hop trusted: the leftmost is the best answer there is.
    expect(proxies.clientAddress('10.0.0.1', '10.0.0.3, 10.0.0.2')).toBe('10.0.0.3');
  });

  it('stops at a malformed hop and answers the last address a trusted proxy vouched for', () => {
    expect(proxies.clientAddress('10.0.0.1', '198.51.100.7, garbage')).toBe('10.0.0.1');
    expect(proxies.clientAddress('10.0.0.1', 'garbage, 10.0.0.2')).toBe('10.0.0.2');
    expect(proxies.clientAddress('10.0.0.1', '')).toBe('10.0.0.1');
  });

  it('property: an untrusted peer is always its own client address, whatever the header says', () => {
    const v4 = fc
      .tuple(fc.integer({ min: 11, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255))
      .map((b) => b.join('.'));
    fc.assert(
      fc.property(
        v4,
        fc.array(fc.oneof(v4, fc.string()), { maxLength: 6 }),
        (peer, hops) => proxies.clientAddress(peer, hops.join(',')) === peer,
      ),
    );
  });

  it('property: with a trusted peer, the answer is the peer or one of the header hops', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
    fc.assert(
      fc.property(fc.array(fc.oneof(v4, fc.string()), { maxLength: 6 }), (hops) => {
        const got = proxies.clientAddress('10.0.0.1', hops.join(','));
        return (
          got === '10.0.0.1' ||
          hops
            .join(',')
            .split(',')
            .map((h) => h.trim())
            .includes(got)
        );
      }),
    );
  });
});
