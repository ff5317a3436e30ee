import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DisplayText } from '@palisade/protocol';
import { idpDisplayName } from './sso.js';

describe('the display name taken from an IdP (hostile input)', () => {
  it('is cut on a code point, never inside a surrogate pair', () => {
    const name = `${'a'.repeat(127)}\u{1F600}\u{1F600}`;
    const kept = idpDisplayName(name);
    expect(kept).toBe(`${'a'.repeat(127)}\u{1F600}`);
    expect(kept?.isWellFormed()).toBe(true);
  });

  it('drops a name the HTTP schema would refuse (bidi override, control, lone surrogate, blank)', () => {
    for (const bad of ['evil\u202Egnp.exe', 'tab\there', 'half \uD800', '   ', 42, undefined])
      expect(idpDisplayName(bad)).toBeNull();
  });

  it('keeps exactly what the schema accepts (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const kept = idpDisplayName(s);
        if (kept === null) return;
        expect(DisplayText.safeParse(kept).success).toBe(true);
        expect(s.startsWith(kept)).toBe(true);
      }),
    );
  });
});
