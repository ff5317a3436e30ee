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
  it('keeps the order across text and binary frames, batching each run of binary frames', () => {
    const s = sink();
    const b = new SendBuffer(s, () => 0, LIMITS);
    b.push('{"type":"a"}', 12);
    const [m1, m2, m3] = [msg(1), msg(2), msg(3)];
    b.push(m1, m1.byteLength);
    b.push(m2, m2.byteLength);
    b.push('{"type":"b"}', 12);
    b.push(m3, m3.byteLength);
    b.flush();
    expect(s.sent.map((d) => (typeof d === 'string' ? d : 'bin'))).toEqual([
      '{"type":"a"}',
      'bin',
      '{"type":"b"}',
      'bin',
    ]);
    const batch = decodeServerFrames(s.sent[1] as Uint8Array);
    expect(batch.ok && batch.value.map((f) => f.seq)).toEqual([1, 2]);
    // A page of one binary frame is that frame itself (the same bytes, not a copy).
    expect(s.sent[3]).toBe(m3);
    // Accounting: what is in the socket is exactly the bytes handed to it.
    const total = s.sent.reduce((n, d) => n + (typeof d === 'string' ? Buffer.byteLength(d) : d.byteLength), 0);
    expect(b.buffered).toBe(total);
    for (const done of s.held) done();
    expect(b.buffered).toBe(0);
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
      if (r.ok) seqs.push(...r.value.map((f) => f.seq));
    }
    expect(seqs).toEqual(frames.map((_, i) => i + 1));
  });
});
