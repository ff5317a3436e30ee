import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isErrorCode } from './errors.js';
import { parseClientFrame, recoverFrameRef } from './frames.js';
import { jsonDepth, parseJsonBounded } from './json.js';
import { MAX_FRAME_BYTES, MAX_JSON_DEPTH, MAX_PAYLOAD_BYTES } from './limits.js';

const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64');

describe('parseClientFrame', () => {
  it('never throws and always answers a published error code for arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          const r = parseClientFrame(text);
          return r.ok || isErrorCode(r.code);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('accepts every well-formed send frame and round-trips its fields', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
    fc.assert(
      fc.property(id, id, fc.uint8Array({ maxLength: 2048 }), (conversationId, clientMsgId, bytes) => {
        const payload = Buffer.from(bytes).toString('base64');
        const r = parseClientFrame(JSON.stringify({ type: 'send', conversationId, clientMsgId, payload }));
        expect(r.ok && r.value).toEqual({ type: 'send', conversationId, clientMsgId, payload });
      }),
    );
  });

  it('refuses payloads over 64 KiB with payload_too_large and accepts exactly 64 KiB', () => {
    const ok = parseClientFrame(
      JSON.stringify({ type: 'send', conversationId: 'c', clientMsgId: 'm', payload: b64(MAX_PAYLOAD_BYTES) }),
    );
    expect(ok.ok).toBe(true);
    const big = parseClientFrame(
      JSON.stringify({ type: 'send', conversationId: 'c', clientMsgId: 'm', payload: b64(MAX_PAYLOAD_BYTES + 3) }),
    );
    expect(big).toMatchObject({ ok: false, code: 'payload_too_large' });
  });

  it('gives stable codes for each kind of bad input', () => {
    expect(parseClientFrame('{')).toMatchObject({ ok: false, code: 'bad_json' });
    expect(parseClientFrame('[1]')).toMatchObject({ ok: false, code: 'bad_request' });
    expect(parseClientFrame('{"type":"nuke"}')).toMatchObject({ ok: false, code: 'unknown_frame' });
    expect(parseClientFrame('{"type":"ack","conversationId":"c","seq":-1}')).toMatchObject({
      ok: false,
      code: 'bad_request',
    });
    expect(parseClientFrame('{"type":"ack","conversationId":"c","seq":1,"extra":1}')).toMatchObject({
      ok: false,
      code: 'bad_request',
    });
    expect(
      parseClientFrame('{"type":"send","conversationId":"c","clientMsgId":"m","payload":"not base64!"}'),
    ).toMatchObject({ ok: false, code: 'bad_request' });
    expect(parseClientFrame('x'.repeat(MAX_FRAME_BYTES + 1))).toMatchObject({ ok: false, code: 'body_too_large' });
    expect(parseClientFrame('['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1))).toMatchObject({
      ok: false,
      code: 'too_deep',
    });
  });
});

describe('recoverFrameRef', () => {
  it('reads the ref of a frame that failed the schema, so its error names the request', () => {
    const big = JSON.stringify({
      type: 'send',
      ref: 'm-1',
      conversationId: 'c',
      clientMsgId: 'm-1',
      payload: Buffer.alloc(MAX_PAYLOAD_BYTES + 3).toString('base64'),
    });
    expect(parseClientFrame(big)).toMatchObject({ ok: false, code: 'payload_too_large' });
    expect(recoverFrameRef(big)).toBe('m-1');
    expect(recoverFrameRef('{"type":"send","ref":"r2","payload":42}')).toBe('r2');
  });

  it('gives nothing for text that is not JSON, too large, or a ref that is not a short printable string', () => {
    expect(recoverFrameRef('{"ref":"x"')).toBeUndefined();
    expect(recoverFrameRef(JSON.stringify({ ref: 'x', pad: 'a'.repeat(MAX_FRAME_BYTES) }))).toBeUndefined();
    expect(recoverFrameRef(JSON.stringify({ ref: 'a'.repeat(65) }))).toBeUndefined();
    expect(recoverFrameRef(JSON.stringify({ ref: 'a\u202eb' }))).toBeUndefined();
    expect(recoverFrameRef(JSON.stringify({ ref: 7 }))).toBeUndefined();
    expect(recoverFrameRef('[{"ref":"x"}]')).toBeUndefined();
  });
});

describe('parseJsonBounded', () => {
  it('v5.0.0-15.3.6 drops __proto__, constructor and prototype keys (no prototype pollution)', () => {
    const r = parseJsonBounded('{"__proto__":{"polluted":1},"a":{"constructor":{"prototype":{"x":1}}},"b":2}');
    expect(r.ok).toBe(true);
    const v = (r as { value: Record<string, unknown> }).value;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(v).toEqual({ a: {}, b: 2 });
  });

  it('measures depth ignoring brackets inside strings', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const text = JSON.stringify(v);
        const real = (function depth(x: unknown): number {
          return typeof x === 'object' && x !== null ? 1 + Math.max(0, ...Object.values(x).map(depth)) : 0;
        })(v);
        return jsonDepth(text) === real;
      }),
    );
    expect(jsonDepth('{"a":"[[[[{{{{"}')).toBe(1);
    expect(jsonDepth('["\\"[[["]')).toBe(1);
  });

  it('round-trips any JSON value within the limits exactly, including unicode (reserved keys aside)', () => {
    const reserved = /"(__proto__|constructor|prototype)":/;
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 8 }).filter((v) => !reserved.test(JSON.stringify(v))),
        (v) => {
          const r = parseJsonBounded(JSON.stringify(v));
          expect(r.ok).toBe(true);
          expect((r as { value: unknown }).value).toEqual(JSON.parse(JSON.stringify(v)));
        },
      ),
    );
  });
});

describe('parseJsonBounded fast path', () => {
  it('still drops dangerous keys written with unicode escapes', () => {
    const r = parseJsonBounded('{"\\u005f_proto__":{"x":1},"a":1,"\\u0063onstructor":2}');
    expect(r).toEqual({ ok: true, value: { a: 1 } });
  });
});
