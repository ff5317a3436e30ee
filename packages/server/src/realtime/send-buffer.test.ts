import { describe, expect, it } from 'vitest';
import { decodeServerFrames, encodeMsgFrame } from '@palisade/protocol';
import { SendBuffer, type SendLimits } from './send-buffer.js';

const LIMITS: SendLimits = { pageBytes: 1000, highWater: 4000, lowWater: 1000, hardCap: 16_000, stallMs: 1000 };

const msg = (seq: number, size = 50) =>
  encodeMsgFrame({
    conversationId: 'c',
    seq,
    senderId: 's',
    senderDeviceId: 'd',
    clientMsgId: `m${seq}`,
    sentAt: 0,
    kind: 'legacy',
    payload: new Uint8Array(size),
  });

/** A sink that takes nothing until told, recording what it was given. */
function sink() {
  const sent: (string | Uint8Array)[] = [];
  const held: (() => void)[] = [];
  return { sent, held, send: (d: string | Uint8Array, done: () => void) => (sent.push(d), held.push(done)) };
}

describe('SendBuffer with binary frames', () => {
  it('keeps the order across text and binary frames in one batch, and accounts its exact bytes', () => {
    const s = sink();
    const b = new SendBuffer(s, () => 0, LIMITS);
    const [m1, m2, m3] = [msg(1), msg(2), msg(3)];
    b.push('{"type":"a"}', 12);
    b.push(m1, m1.byteLength);
    b.push(m2, m2.byteLength);
    b.push('{"type":"b","x":"é"}', Buffer.byteLength('{"type":"b","x":"é"}'));
    b.push(m3, m3.byteLength);
    const open = b.buffered;
    b.flush();
    expect(s.sent).toHaveLength(1);
    const batch = decodeServerFrames(s.sent[0] as Uint8Array);
    if (!batch.ok) throw new Error(batch.code);
    expect(batch.value.map((f) => (f.type === 'text' ? (JSON.parse(f.text) as { type: string }).type : f.seq))).toEqual(
      ['a', 1, 2, 'b', 3],
    );
    expect((s.sent[0] as Uint8Array).byteLength).toBe(open);
    expect(b.buffered).toBe(open);
    for (const done of s.held) done();
    expect(b.buffered).toBe(0);
  });

  it('sends a lone binary frame as itself (the very bytes) and text-only pages as JSON arrays', () => {
    const s = sink();
    const b = new SendBuffer(s, () => 0, LIMITS);
    const m = msg(1);
    b.push(m, m.byteLength);
    b.flush();
    b.push('{"type":"a"}', 12);
    b.push('{"type":"b"}', 12);
    b.flush();
    expect(s.sent[0]).toBe(m);
    expect(s.sent[1]).toBe('[{"type":"a"},{"type":"b"}]');
    expect(b.buffered).toBe(m.byteLength + 27);
  });

  it('splits binary batches under pageBytes', () => {
    const s = sink();
    const b = new SendBuffer(s, () => 0, LIMITS);
    const frames = Array.from({ length: 30 }, (_, i) => msg(i + 1, 100));
    for (const f of frames) b.push(f, f.byteLength);
    b.flush();
    expect(s.sent.length).toBeGreaterThan(3);
    const seqs: number[] = [];
    for (const d of s.sent) {
      expect((d as Uint8Array).byteLength).toBeLessThanOrEqual(LIMITS.pageBytes);
      const r = decodeServerFrames(d as Uint8Array);
      if (r.ok) for (const f of r.value) if (f.type === 'msg') seqs.push(f.seq);
    }
    expect(seqs).toEqual(frames.map((_, i) => i + 1));
  });
});
