import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SEALED_FIELDS } from './sealed-fields.js';
import { isSealedText, keyIdOf, keyIdOfBytes } from './sealed-format.js';

describe('the list of sealed columns', () => {
  it('is the table in docs/security-model.md, row for row', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../../../docs/security-model.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_]+)\.([a-z_]+)` \| (\w+) \|/gm)].map((m) => `${m[1]}.${m[2]}`);
    expect(rows.sort()).toEqual(SEALED_FIELDS.map((f) => `${f.table}.${f.column}`).sort());
  });

  it('tells sealed values from anything else (parser property)', () => {
    const sealed = 'v2.0123456789abcdef0123456789abcdef.AAAAAAAAAAAAAAAA.Zm9v.AAAAAAAAAAAAAAAAAAAAAA';
    expect(isSealedText(sealed)).toBe(true);
    expect(keyIdOf(sealed)).toBe('0123456789abcdef0123456789abcdef');
    expect(keyIdOfBytes(Buffer.from(sealed))).toBe('0123456789abcdef0123456789abcdef');
    expect(keyIdOfBytes(Buffer.concat([Buffer.from([2, 4]), Buffer.from('abcd'), Buffer.alloc(28)]))).toBe('abcd');
    expect(keyIdOfBytes(Buffer.concat([Buffer.from([2, 4]), Buffer.from('abcd'), Buffer.alloc(27)]))).toBeUndefined();
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const r = isSealedText(s);
        if (!s.startsWith('v2.')) expect(r).toBe(false);
        expect(keyIdOf(s) === undefined).toBe(!r);
      }),
    );
  });
});
