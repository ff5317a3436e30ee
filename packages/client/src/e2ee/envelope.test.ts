import { MAX_PAYLOAD_BYTES } from '@palisade/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTsMlsAdapter } from '../mls/index.js';
import { allowList, testDevice } from '../test-support/mls.js';
import {
  decodeEnvelope,
  encodeEnvelope,
  EnvelopeError,
  MAX_ENVELOPE_BYTES,
  MAX_TEXT_BYTES,
  PAD_BUCKETS,
  paddedSize,
  type Envelope,
  type EnvelopeErrorCode,
} from './envelope.js';

const text = (body: string, sentAt = 1_764_600_000_000, counter = 1): Envelope => ({
  v: 1,
  type: 'text',
  body,
  sentAt,
  counter,
});
const encodeCode = (e: unknown): EnvelopeErrorCode | 'no error' => {
  try {
    encodeEnvelope(e as Envelope);
    return 'no error';
  } catch (err) {
    if (err instanceof EnvelopeError) return err.code;
    throw err;
  }
};
const u53 = fc.maxSafeNat();

describe('encodeEnvelope / decodeEnvelope', () => {
  it('round-trips any text, time and counter, padded to a bucket', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), u53, u53, (body, sentAt, counter) => {
        const bytes = encodeEnvelope(text(body, sentAt, counter));
        expect(PAD_BUCKETS).toContain(bytes.length);
        expect(decodeEnvelope(bytes)).toEqual({ ok: true, envelope: text(body, sentAt, counter) });
      }),
    );
  });

  it('pads to the smallest bucket that holds the content', () => {
    expect(encodeEnvelope(text('')).length).toBe(256);
    expect(encodeEnvelope(text('a'.repeat(234))).length).toBe(256);
    expect(encodeEnvelope(text('a'.repeat(235))).length).toBe(1024);
    expect(encodeEnvelope(text('é'.repeat(600))).length).toBe(4096);
    expect(encodeEnvelope(text('a'.repeat(20_000))).length).toBe(32768);
    expect(encodeEnvelope(text('a'.repeat(MAX_TEXT_BYTES))).length).toBe(MAX_ENVELOPE_BYTES);
    expect(paddedSize(MAX_ENVELOPE_BYTES + 1)).toBeUndefined();
    expect(PAD_BUCKETS).toEqual([256, 1024, 4096, 16384, 32768, 49152, 64512]);
  });

  it('refuses on encode: reserved types, bad fields, a body too large', () => {
    expect(encodeCode({ v: 1, type: 'reaction', target: 'm1', reaction: '👍', sentAt: 1, counter: 1 })).toBe(
      'unsupported',
    );
    expect(encodeCode({ v: 1, type: 'attachment', sentAt: 1, counter: 1 })).toBe('unsupported');
    expect(encodeCode({ v: 1, type: 'poll', sentAt: 1, counter: 1 })).toBe('malformed');
    expect(encodeCode({ v: 2, type: 'text', body: '', sentAt: 1, counter: 1 })).toBe('version');
    expect(encodeCode(null)).toBe('version');
    expect(encodeCode(text('x', -1))).toBe('malformed');
    expect(encodeCode(text('x', 1, 2 ** 53))).toBe('malformed');
    expect(encodeCode(text('x', 1.5))).toBe('malformed');
    expect(encodeCode(text('lone \uD800 surrogate'))).toBe('malformed');
    expect(encodeCode(text('a'.repeat(MAX_TEXT_BYTES + 1)))).toBe('too_large');
    expect(encodeCode(text('é'.repeat(MAX_TEXT_BYTES / 2 + 1)))).toBe('too_large');
  });

  it('refuses padding that is not the canonical bucket of zeros', () => {
    const good = encodeEnvelope(text('hello'));
    const nonZero = good.slice();
    nonZero[200] = 1;
    expect(decodeEnvelope(nonZero)).toEqual({ ok: false, code: 'padding' });
    expect(decodeEnvelope(good.slice(0, 255))).toEqual({ ok: false, code: 'padding' });
    // A short body padded to a larger bucket than needed: not canonical.
    const big = new Uint8Array(1024);
    big.set(good);
    expect(decodeEnvelope(big)).toEqual({ ok: false, code: 'padding' });
  });

  it('names reserved types, unknown versions and broken fields', () => {
    const good = encodeEnvelope(text('hello'));
    const withType = (t: number) => {
      const b = good.slice();
      b[1] = t;
      return b;
    };
    for (const t of [2, 3, 4, 5]) expect(decodeEnvelope(withType(t))).toEqual({ ok: false, code: 'unsupported' });
    expect(decodeEnvelope(withType(9))).toEqual({ ok: false, code: 'malformed' });
    const v2 = good.slice();
    v2[0] = 2;
    expect(decodeEnvelope(v2)).toEqual({ ok: false, code: 'version' });
    expect(decodeEnvelope(new Uint8Array(0))).toEqual({ ok: false, code: 'empty' });
    const longLen = good.slice();
    new DataView(longLen.buffer).setUint32(18, 300);
    expect(decodeEnvelope(longLen)).toEqual({ ok: false, code: 'malformed' });
    const hugeTime = good.slice();
    hugeTime[2] = 0xff;
    expect(decodeEnvelope(hugeTime)).toEqual({ ok: false, code: 'malformed' });
    const badUtf8 = encodeEnvelope(text('ab'));
    badUtf8[22] = 0xc3;
    badUtf8[23] = 0x28;
    expect(decodeEnvelope(badUtf8)).toEqual({ ok: false, code: 'malformed' });
    expect(decodeEnvelope(new Uint8Array(MAX_ENVELOPE_BYTES + 1).fill(1))).toEqual({ ok: false, code: 'too_large' });
  });

  it('never throws on garbage, and accepts only what it would encode', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ minLength: 256, maxLength: 256 }).map((b) => {
            b[0] = 1;
            b[1] = 1;
            return b;
          }),
        ),
        (b) => {
          const r = decodeEnvelope(b);
          if (r.ok) expect(encodeEnvelope(r.envelope)).toEqual(b);
          else expect(['empty', 'version', 'unsupported', 'padding', 'malformed', 'too_large']).toContain(r.code);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('MAX_TEXT_BYTES through MLS', () => {
  it('a maximal text in a group with the longest group id fits the 64 KiB payload limit, both suites', async () => {
    const [a, b] = [testDevice('max-a'), testDevice('max-b')];
    for (const suite of [
      'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
      'MLS_256_XWING_AES256GCM_SHA512_Ed25519',
    ] as const) {
      const mls = await createTsMlsAdapter({ validate: allowList([a, b]).validate, suite });
      const kp = await mls.generateKeyPackage(b, 600);
      const add = await mls.commit(await mls.createGroup(new Uint8Array(255).fill(7), a), {
        add: [kp.keyPackage],
        remove: [],
      });
      const bob = (await mls.joinFromWelcome(add.welcome!, () => kp.secret)).group;
      const body = '€'.repeat(Math.floor(MAX_TEXT_BYTES / 3)) + 'x'.repeat(MAX_TEXT_BYTES % 3);
      const env = encodeEnvelope(text(body, Date.now(), 2 ** 53 - 1));
      expect(env.length).toBe(MAX_ENVELOPE_BYTES);
      const sent = await mls.encrypt(add.group, env);
      expect(sent.message.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
      const got = await mls.process(bob, sent.message);
      if (got.kind !== 'application') throw new Error('expected an application message');
      const back = decodeEnvelope(got.plaintext);
      expect(back.ok && back.envelope.body === body && back.envelope.counter === 2 ** 53 - 1).toBe(true);
    }
  });
});
