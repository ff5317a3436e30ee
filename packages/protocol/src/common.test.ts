import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codePointLength, DisplayText, Email, Password, text, TEXT_ISSUES, Username } from './common.js';
import { parseClientFrame } from './frames.js';
import { parseJsonBytes } from './json.js';

const issues = (r: { success: boolean; error?: { issues: { message: string }[] } }) =>
  r.success ? [] : r.error!.issues.map((i) => i.message);

describe('text(): one schema for every text field', () => {
  it('refuses lone surrogates in every kind, with a reason', () => {
    for (const kind of ['display', 'secret', 'machine'] as const) {
      for (const bad of ['\ud800', 'a\udc00b', 'x\udbff', '\udfff\ud800']) {
        expect(issues(text({ min: 1, max: 10, kind }).safeParse(bad))).toContain(TEXT_ISSUES.loneSurrogate);
      }
    }
  });

  it('accepts every well-formed string within bounds exactly as given (no trimming, no normalisation)', () => {
    const display = text({ min: 1, max: 64 });
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 64 }), (s) => {
        const r = display.safeParse(s);
        if (r.success) expect(r.data).toBe(s);
        else
          expect(issues(r).every((m) => Object.values(TEXT_ISSUES).includes(m as never) || /characters/.test(m))).toBe(
            true,
          );
      }),
    );
    for (const s of [' padded ', 'e\u0301', '\u00e9', 'Ｆｕｌｌ', '👩‍👩‍👧', 'שלום\u200f 1', 'ﬁ'])
      expect(display.parse(s)).toBe(s);
  });

  it('counts code points: an astral character is one', () => {
    expect(codePointLength('😀😀')).toBe(2);
    expect(text({ max: 2 }).safeParse('😀😀').success).toBe(true);
    expect(text({ max: 2 }).safeParse('😀😀😀').success).toBe(false);
  });

  it('display text refuses NUL, controls, separators and bidi overrides, and blank names', () => {
    for (const bad of [
      'a\u0000b',
      'a\nb',
      'a\u0085b',
      'a\u2028b',
      'evil\u202egnp.exe',
      'x\u2066y\u2069',
      '   ',
      '\u200b',
    ]) {
      expect(DisplayText.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('passwords keep everything but NUL and lone surrogates', () => {
    for (const ok of [' spaces around ', 'tab\there', 'é vs e\u0301', '\u202eflip'])
      expect(Password.parse(ok)).toBe(ok);
    expect(Password.safeParse('a\u0000b').success).toBe(false);
  });

  it('user names and e-mail addresses are ASCII', () => {
    expect(Username.safeParse('bob\ud800').success).toBe(false);
    expect(Email.safeParse('a\u0000@b.co').success).toBe(false);
    expect(Email.parse('Ann@Example.test')).toBe('Ann@Example.test');
  });
});

describe('parseJsonBytes', () => {
  it('refuses bytes that are not UTF-8 instead of replacing them', () => {
    const bad = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
    expect(parseJsonBytes(bad)).toMatchObject({ ok: false, code: 'bad_json' });
    expect(parseJsonBytes(Buffer.from('{"name":"\u00e9\ud83d\ude00"}'))).toEqual({
      ok: true,
      value: { name: '\u00e9\ud83d\ude00' },
    });
  });
});

describe('frames use text() too', () => {
  it('a ref or token that is not well-formed is refused with its path; a well-formed ref is echoed exactly', () => {
    expect(parseClientFrame(JSON.stringify({ type: 'ping', ref: 'a\ud800' }))).toMatchObject({
      ok: false,
      code: 'bad_request',
      details: [{ path: 'ref' }],
    });
    expect(parseClientFrame(JSON.stringify({ type: 'auth', token: 't\udc00', signature: 'x' }))).toMatchObject({
      ok: false,
      code: 'bad_request',
      details: [{ path: 'token' }],
    });
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), (ref) => {
        const r = parseClientFrame(JSON.stringify({ type: 'ping', ref }));
        if (r.ok) expect(r.value).toEqual({ type: 'ping', ref });
        else expect(r.code).toBe('bad_request');
      }),
    );
  });
});
