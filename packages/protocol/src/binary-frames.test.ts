import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BINARY_FRAME_TYPE,
  BINARY_FRAME_VERSION,
  decodeSendFrame,
  decodeServerFrames,
  encodeBatch,
  encodeMsgFrame,
  encodeSendFrame,
  recoverBinaryRef,
  type BinaryMsg,
  type BinarySend,
} from './binary-frames.js';
import { isErrorCode } from './errors.js';
import { MAX_PAYLOAD_BYTES } from './limits.js';

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
// A ref as the JSON schema allows it: at most 64 code points, no control characters, well-formed.
const ref = fc
  .string({ unit: 'grapheme', maxLength: 64 })
  .filter((s) => [...s].length <= 64 && !/[\u0000-\u001f\u007f-\u009f]/.test(s));
const payload = fc.uint8Array({ maxLength: 512 });

const sendFrame: fc.Arbitrary<BinarySend> = fc.record(
  { type: fc.constant('send' as const), ref, conversationId: id, clientMsgId: id, payload },
  { requiredKeys: ['type', 'conversationId', 'clientMsgId', 'payload'] },
);
// Server-issued names: ids, and clientMsgIds the server makes itself such as `mls-commit:<epoch>`.
const name = fc.oneof(
  id,
  fc.nat().map((n) => `mls-commit:${n}`),
  fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 20 })
    .filter((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s) && new TextEncoder().encode(s).byteLength <= 128),
);
const msgFrame: fc.Arbitrary<BinaryMsg> = fc.record({
  type: fc.constant('msg' as const),
  conversationId: name,
  seq: fc.maxSafeNat(),
  senderId: name,
  senderDeviceId: name,
  clientMsgId: name,
  sentAt: fc.integer({ min: 0, max: 8.64e15 }),
  kind: fc.constantFrom('legacy' as const, 'mls' as const, 'commit' as const),
  payload,
});

// A batch entry: a msg frame, or a JSON server frame (text) queued between messages.
const entry = fc.oneof(
  msgFrame,
  fc.json().map((text) => ({ type: 'text' as const, text })),
);
const encodeEntry = (e: BinaryMsg | { type: 'text'; text: string }) => (e.type === 'text' ? e.text : encodeMsgFrame(e));
const anyFrame = fc.oneof(
  sendFrame.map(encodeSendFrame),
  msgFrame.map(encodeMsgFrame),
  fc.array(entry, { minLength: 1, maxLength: 4 }).map((es) => encodeBatch(es.map(encodeEntry))),
);
const decodeAny = (b: Uint8Array) => (b[0] === BINARY_FRAME_TYPE.send ? decodeSendFrame(b) : decodeServerFrames(b));

describe('binary payload frames', () => {
  it('round-trips every valid send frame', () => {
    fc.assert(
      fc.property(sendFrame, (f) => {
        expect(decodeSendFrame(encodeSendFrame(f))).toEqual({ ok: true, value: f });
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips every valid msg frame, alone and in batches, in order', () => {
    fc.assert(
      fc.property(fc.array(msgFrame, { minLength: 1, maxLength: 5 }), (ms) => {
        expect(decodeServerFrames(encodeMsgFrame(ms[0] as BinaryMsg))).toEqual({ ok: true, value: [ms[0]] });
        expect(decodeServerFrames(encodeBatch(ms.map(encodeMsgFrame)))).toEqual({ ok: true, value: ms });
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips batches that mix msg frames and JSON text entries, in order', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 6 }), (es) => {
        expect(decodeServerFrames(encodeBatch(es.map(encodeEntry)))).toEqual({ ok: true, value: es });
      }),
      { numRuns: 500 },
    );
    const bad = encodeBatch(['{"type":"synced"}']);
    bad[bad.byteLength - 1] = 0xff; // not UTF-8
    expect(decodeServerFrames(bad)).toMatchObject({ ok: false, code: 'bad_request' });
  });

  it('refuses every truncation of a valid frame with bad_request', () => {
    fc.assert(
      fc.property(anyFrame, fc.nat(), (b, cut) => {
        const r = decodeAny(b.subarray(0, cut % b.byteLength));
        expect(r.ok).toBe(false);
        expect(!r.ok && r.code).toBe('bad_request');
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses trailing bytes', () => {
    fc.assert(
      fc.property(anyFrame, fc.uint8Array({ minLength: 1, maxLength: 8 }), (b, extra) => {
        const r = decodeAny(new Uint8Array([...b, ...extra]));
        expect(!r.ok && r.code).toBe('bad_request');
      }),
    );
  });

  it('answers random garbage and mutated frames with a published code, never a throw', () => {
    const mutated = fc
      .tuple(anyFrame, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
      .map(([b, edits]) => {
        const c = b.slice();
        for (const [at, v] of edits) c[at % c.byteLength] = v;
        return c;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated), (b) => {
        for (const r of [decodeSendFrame(b), decodeServerFrames(b)]) expect(r.ok || isErrorCode(r.code)).toBe(true);
        const ref = recoverBinaryRef(b);
        expect(ref === undefined || typeof ref === 'string').toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses every mutated length prefix', () => {
    // Offsets of the length fields of a send frame without ref: conversationId u16, clientMsgId u16, payload u32.
    fc.assert(
      fc.property(sendFrame, fc.integer({ min: 1, max: 0xffff }), fc.nat(2), (f0, delta, which) => {
        const f = { ...f0, ref: undefined };
        const b = encodeSendFrame(f);
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const at = [3, 5 + f.conversationId.length, 7 + f.conversationId.length + f.clientMsgId.length][
          which
        ] as number;
        if (which < 2) dv.setUint16(at, (dv.getUint16(at) + delta) & 0xffff);
        else dv.setUint32(at, dv.getUint32(at) + delta);
        const r = decodeSendFrame(b);
        if (r.ok) {
          // A shorter id can still parse only if the bytes shift into a valid frame: never the same frame.
          expect(r.value).not.toEqual(f);
        } else expect(['bad_request', 'payload_too_large']).toContain(r.code);
      }),
      { numRuns: 1000 },
    );
  });

  it('answers payload_too_large over 64 KiB and accepts exactly 64 KiB', () => {
    const max = { conversationId: 'c', clientMsgId: 'm', payload: new Uint8Array(MAX_PAYLOAD_BYTES) };
    expect(decodeSendFrame(encodeSendFrame(max)).ok).toBe(true);
    const big = encodeSendFrame({ ...max, payload: new Uint8Array(0) });
    const over = new Uint8Array(big.byteLength + MAX_PAYLOAD_BYTES + 1);
    over.set(big);
    new DataView(over.buffer).setUint32(big.byteLength - 4, MAX_PAYLOAD_BYTES + 1);
    expect(decodeSendFrame(over)).toMatchObject({ ok: false, code: 'payload_too_large' });
    expect(() => encodeSendFrame({ ...max, payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1) })).toThrow(RangeError);
  });

  it('refuses a wrong version, an unknown type, non-id strings, bad UTF-8 and unknown flags', () => {
    const good = encodeSendFrame({
      ref: 'r1',
      conversationId: 'conv',
      clientMsgId: 'm1',
      payload: new Uint8Array([1]),
    });
    const edit = (at: number, v: number) => {
      const c = good.slice();
      c[at] = v;
      return decodeSendFrame(c);
    };
    expect(edit(1, BINARY_FRAME_VERSION + 1)).toMatchObject({ ok: false, code: 'bad_request' });
    expect(edit(0, 0x7f)).toMatchObject({ ok: false, code: 'unknown_frame' });
    expect(edit(0, BINARY_FRAME_TYPE.msg)).toMatchObject({ ok: false, code: 'unknown_frame' });
    expect(edit(2, 0x03)).toMatchObject({ ok: false, code: 'bad_request' }); // unknown flag bit
    expect(edit(5, 0xff)).toMatchObject({ ok: false, code: 'bad_request' }); // ref byte: invalid UTF-8
    expect(edit(9, 0x2f)).toMatchObject({ ok: false, code: 'bad_request' }); // '/' in conversationId
    expect(edit(5, 0x0a)).toMatchObject({ ok: false, code: 'bad_request' }); // control character in ref
    const msg = encodeMsgFrame({
      conversationId: 'c',
      seq: 1,
      senderId: 's',
      senderDeviceId: 'd',
      clientMsgId: 'm',
      sentAt: 0,
      kind: 'mls',
      payload: new Uint8Array(0),
    });
    const kindAt = msg.byteLength - 5;
    const badKind = msg.slice();
    badKind[kindAt] = 3;
    expect(decodeServerFrames(badKind)).toMatchObject({ ok: false, code: 'bad_request' });
    const nested = encodeBatch([encodeBatch([msg])]);
    expect(decodeServerFrames(nested)).toMatchObject({ ok: false, code: 'unknown_frame' });
    expect(decodeServerFrames(new Uint8Array([BINARY_FRAME_TYPE.batch, 1, 0, 0]))).toMatchObject({ ok: false });
    // A seq over 2^53 - 1 is refused, not rounded.
    const hugeSeq = msg.slice();
    hugeSeq[5] = 0xff; // the high byte of seq (type, version, u16 length, 'c', then seq)
    expect(decodeServerFrames(hugeSeq)).toMatchObject({ ok: false, code: 'bad_request' });
  });

  it('recovers the ref of a refused send so the error names its request', () => {
    const b = encodeSendFrame({ ref: 'abc', conversationId: 'c', clientMsgId: 'm', payload: new Uint8Array(3) });
    const broken = b.subarray(0, b.byteLength - 1);
    expect(decodeSendFrame(broken).ok).toBe(false);
    expect(recoverBinaryRef(broken)).toBe('abc');
    expect(recoverBinaryRef(new Uint8Array([1, 1, 0]))).toBeUndefined();
  });

  it('decodes payloads into plain copies that do not share the frame buffer', () => {
    const frame = Buffer.from(
      encodeSendFrame({ conversationId: 'c', clientMsgId: 'm', payload: new Uint8Array([5, 6]) }),
    );
    const r = decodeSendFrame(frame);
    frame.fill(0);
    expect(r.ok && r.value.payload).toEqual(new Uint8Array([5, 6]));
    expect(r.ok && Buffer.isBuffer(r.value.payload)).toBe(false);
  });

  it('refuses to encode what the decoder would refuse', () => {
    expect(() => encodeSendFrame({ conversationId: 'a/b', clientMsgId: 'm', payload: new Uint8Array() })).toThrow();
    expect(() =>
      encodeSendFrame({ ref: '\uD800', conversationId: 'a', clientMsgId: 'm', payload: new Uint8Array() }),
    ).toThrow();
    expect(() => encodeBatch([])).toThrow();
  });
});
