import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cefEscapeHeader, cefEscapeValue, encodeCef } from './cef.js';
import { encodeSyslog, headerField, octetFrame, parseOctetFrames, sdEscape } from './rfc5424.js';

/** Splits a CEF line into its 7 header fields and the extension, unescaping the header (a SIEM's view). */
function parseCef(line: string): { header: string[]; ext: Map<string, string> } {
  const header: string[] = [];
  let cur = '';
  let i = 0;
  while (header.length < 7) {
    const c = line[i++];
    if (c === undefined) throw new Error('short header');
    if (c === '\\' && (line[i] === '\\' || line[i] === '|')) cur += line[i++];
    else if (c === '|') {
      header.push(cur);
      cur = '';
    } else cur += c;
  }
  const rest = line.slice(i);
  const ext = new Map<string, string>();
  // keys are alphanumeric and followed by an unescaped '='; a value runs to the next " key=".
  const re = /(?:^| )([A-Za-z0-9]+)=/g;
  const starts: { key: string; at: number; end: number }[] = [];
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    const backslashes = /\\*$/.exec(rest.slice(0, m.index + m[0].length - 1))?.[0].length ?? 0;
    if (backslashes % 2 === 0) starts.push({ key: m[1]!, at: m.index, end: m.index + m[0].length });
  }
  starts.forEach((s, k) => {
    const raw = rest.slice(s.end, k + 1 < starts.length ? starts[k + 1]!.at : rest.length);
    ext.set(
      s.key,
      raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c)),
    );
  });
  return { header, ext };
}

/** Unescapes an SD-PARAM value. */
const sdUnescape = (v: string) => v.replace(/\\(["\\\]])/g, '$1');

describe('CEF encoder', () => {
  it('header fields round-trip (line breaks become spaces) and the line never holds a raw line break', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { minLength: 5, maxLength: 5 }), fc.integer(), (fs, sev) => {
        const [vendor, product, version, signatureId, name] = fs as [string, string, string, string, string];
        const line = encodeCef({ vendor, product, version, signatureId, name, severity: sev, extension: [] });
        expect(line).not.toMatch(/[\r\n]/);
        const { header } = parseCef(line);
        expect(header[0]).toBe('CEF:0');
        expect(header.slice(1, 6)).toEqual(fs.map((f) => f.replace(/\r\n|[\r\n]/g, ' ')));
        expect(Number(header[6])).toBe(Math.min(10, Math.max(0, Math.round(sev))));
      }),
    );
  });

  it('extension values round-trip whatever they hold (=, \\, |, spaces, line breaks)', () => {
    const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,7}$/);
    const value = fc.string({ unit: fc.constantFrom('a', ' ', '=', '\\', '\n', '\r', '|', 'é', 'x=y', '\\n') });
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, value), { selector: (t) => t[0], maxLength: 6 }), (pairs) => {
        const line = encodeCef({
          vendor: 'V',
          product: 'P',
          version: '1',
          signatureId: 's',
          name: 'n',
          severity: 5,
          extension: pairs,
        });
        expect(line).not.toMatch(/[\r\n]/);
        expect(Object.fromEntries(parseCef(line).ext)).toEqual(Object.fromEntries(pairs));
      }),
    );
  });

  it('escapes exactly the characters CEF names', () => {
    expect(cefEscapeHeader('a|b\\c')).toBe('a\\|b\\\\c');
    expect(cefEscapeValue('a=b\\c\nd\re|f')).toBe('a\\=b\\\\c\\nd\\re|f');
    expect(() =>
      encodeCef({
        vendor: 'V',
        product: 'P',
        version: '1',
        signatureId: 's',
        name: 'n',
        severity: 1,
        extension: [['bad key', 'x']],
      }),
    ).toThrow(/alphanumeric/);
  });
});

describe('RFC 5424 encoder and RFC 6587 framing', () => {
  it('header fields are NILVALUE or printable ASCII within their length, so the header splits into 7 fields', () => {
    fc.assert(
      fc.property(
        fc.record({
          facility: fc.integer({ min: 0, max: 23 }),
          severity: fc.integer({ min: 0, max: 7 }),
          at: fc.integer({ min: 0, max: 4102444800000 }),
          hostname: fc.option(fc.string({ unit: 'binary' }), { nil: undefined }),
          appName: fc.option(fc.string({ unit: 'binary' }), { nil: undefined }),
          msgId: fc.option(fc.string({ unit: 'binary' }), { nil: undefined }),
          msg: fc.string({ unit: 'binary', minLength: 1 }),
        }),
        (m) => {
          const line = encodeSyslog(m);
          const [pri, ts, host, app, , msgId, sd] = line.split(' ');
          expect(pri).toBe(`<${m.facility * 8 + m.severity}>1`);
          expect(Date.parse(ts!)).toBe(m.at);
          for (const [f, max] of [
            [host, 255],
            [app, 48],
            [msgId, 32],
          ] as const) {
            expect(f).toMatch(/^[!-~]+$/);
            expect(f!.length).toBeLessThanOrEqual(max);
          }
          expect(sd).toBe('-');
          expect(line.endsWith(` ${m.msg}`)).toBe(true);
          expect(headerField(m.hostname, 255)).toBe(host);
        },
      ),
    );
  });

  it('SD-PARAM values round-trip through escaping and never end the element early', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '"', '\\', ']', ' ', '=', 'é') }), (v) => {
        const line = encodeSyslog({
          facility: 10,
          severity: 3,
          at: 0,
          structuredData: { 'x@32473': { k: v } },
          msg: 'm',
        });
        const m = /\[x@32473 k="((?:[^"\\\]]|\\["\\\]])*)"\] m$/.exec(line);
        expect(m).not.toBeNull();
        expect(sdUnescape(m![1]!)).toBe(v);
        expect(sdEscape(v).length).toBeGreaterThanOrEqual(v.length);
      }),
    );
  });

  it('octet-counted frames split back into the messages however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', minLength: 1 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 50 }),
        (msgs, cut) => {
          const stream = Buffer.concat(msgs.map(octetFrame));
          const got: string[] = [];
          let rest: Buffer = Buffer.alloc(0);
          for (let i = 0; i < stream.length; i += cut) {
            const r = parseOctetFrames(Buffer.concat([rest, stream.subarray(i, i + cut)]));
            got.push(...r.frames);
            rest = r.rest;
          }
          expect(rest.length).toBe(0);
          expect(got).toEqual(msgs.map((m) => Buffer.from(m, 'utf8').toString('utf8')));
        },
      ),
    );
    expect(() => parseOctetFrames(Buffer.from('07 abc'))).toThrow(/octet count/);
  });
});
