import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromBase64Url, fromUtf8, toBase64, toBase64Url, utf8 } from './bytes.js';

// Buffer is the reference codec here (the SDK's own code must not use it, so it runs in browsers).
const bytes = fc.uint8Array({ maxLength: 200_000, size: 'medium' });

describe('bytes codecs (properties)', () => {
  it('base64 agrees with Buffer and round-trips any bytes, including past one 32 KiB chunk', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const text = toBase64(b);
        expect(text).toBe(Buffer.from(b).toString('base64'));
        expect(fromBase64(text)).toEqual(b);
      }),
      { numRuns: 200 },
    );
  });

  it('base64url is URL-safe and unpadded, agrees with Buffer, and decodes with or without padding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const text = toBase64Url(b);
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(text).toBe(Buffer.from(b).toString('base64url'));
        expect(fromBase64Url(text)).toEqual(b);
        expect(fromBase64Url(text + '='.repeat((4 - (text.length % 4)) % 4))).toEqual(b);
      }),
      { numRuns: 500 },
    );
  });

  it('UTF-8 round-trips any well-formed string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(fromUtf8(utf8(s))).toBe(s);
      }),
    );
  });
});
