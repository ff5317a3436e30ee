import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeviceKey } from '@palisade/client';
import { isAppError } from '../core/index.js';
import { sha256Hex } from '../crypto/index.js';
import { assertHttpProof, EMPTY_BODY_SHA256, ProofReplayCache, type ProofRequest } from './proof.js';

const NOW = 1_767_225_600_000;
const key = DeviceKey.generate();
const device = { id: 'dev-1', publicKey: key.publicKey };
const token = 'session-token-0123456789';
const req: ProofRequest = {
  method: 'POST',
  url: '/v1/conversations/c1/messages?x=1',
  token,
  bodySha256: sha256Hex(Buffer.from('{"a":1}')),
};

/** Whether two headers parse to the same time and signature bytes (as assertHttpProof reads them). */
function sameMeaning(a: string, b: string): boolean {
  const parse = (h: string) => ({
    ts: h.slice(0, h.indexOf('.')),
    sig: Buffer.from(h.slice(h.indexOf('.') + 1), 'base64url'),
  });
  const x = parse(a);
  const y = parse(b);
  return x.ts === y.ts && x.sig.equals(y.sig);
}

/** The error code a header gets, or 'accepted'; anything but an AppError counts as a crash. */
function outcome(header: string | undefined, r: ProofRequest = req, replay = new ProofReplayCache()): string {
  try {
    assertHttpProof(header, r, device, NOW, replay);
    return 'accepted';
  } catch (e) {
    return isAppError(e) ? e.code : `crash: ${String(e)}`;
  }
}

describe('S6: the X-Palisade-Proof header parser (properties)', () => {
  const genuine = key.httpProof(req.method, req.url, NOW, token, '{"a":1}');

  it('accepts the genuine proof once; a replay is refused', () => {
    const replay = new ProofReplayCache();
    expect(outcome(genuine, req, replay)).toBe('accepted');
    expect(outcome(genuine, req, replay)).toBe('device_proof_failed');
  });

  it('refuses any other header text with device_proof_failed, never a crash', () => {
    const headerish = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.tuple(fc.string({ maxLength: 20 }), fc.base64String({ maxLength: 120 })).map(([t, s]) => `${t}.${s}`),
      fc
        .tuple(fc.integer({ min: NOW - 60_000, max: NOW + 60_000 }), fc.base64String({ maxLength: 120 }))
        .map(([t, s]) => `${t}.${s}`),
    );
    fc.assert(
      fc.property(headerish, (h) => {
        fc.pre(h !== genuine);
        expect(outcome(h)).toBe('device_proof_failed');
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses the genuine proof with any one character changed, or for another method, target, body or session', () => {
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom(...'0123456789abcdefABCDEF-_.'), (at, c) => {
        const i = at % genuine.length;
        const changed = genuine.slice(0, i) + c + genuine.slice(i + 1);
        // base64url is decoded leniently (spare bits of the last character, stray characters), so skip the
        // changes that still mean the same time and signature bytes as the server parses them.
        fc.pre(!sameMeaning(changed, genuine));
        expect(outcome(changed)).toBe('device_proof_failed');
      }),
      { numRuns: 500 },
    );
    for (const other of [
      { method: 'PUT' },
      { url: '/v1/conversations/c1/messages?x=2' },
      { bodySha256: EMPTY_BODY_SHA256 },
      { token: `${token}x` },
    ]) {
      expect(outcome(genuine, { ...req, ...other }), JSON.stringify(other)).toBe('device_proof_failed');
    }
  });

  it('refuses a genuine signature whose time is outside the 30 s window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 30_001, max: 10 ** 9 }), fc.boolean(), (skew, late) => {
        const at = late ? NOW - skew : NOW + skew;
        expect(outcome(key.httpProof(req.method, req.url, at, token, '{"a":1}'))).toBe('device_proof_failed');
      }),
      { numRuns: 200 },
    );
  });
});
