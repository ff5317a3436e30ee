import { describe, expect, it } from 'vitest';
import { decodeServerFrames, MAX_PAYLOAD_BYTES } from '@palisade/protocol';
import type { StoredMessage } from '../core/index.js';
import { MessageFrames } from './message-frames.js';

const stored = (over: Partial<StoredMessage> = {}): StoredMessage => ({
  conversationId: 'c0ffee',
  seq: 7,
  senderId: 'u1',
  senderDeviceId: 'd1',
  clientMsgId: 'mls-commit:3', // the server's own clientMsgId of a commit: not a client id
  payload: new Uint8Array([1, 2, 3]),
  sentAt: Date.UTC(2026, 11, 1),
  kind: 'commit',
  ...over,
});

describe('MessageFrames', () => {
  it('serialises each format once and carries the JSON frame fields in the binary frame', () => {
    const f = new MessageFrames(stored());
    const bin = f.encoded('binary');
    expect(f.encoded('binary')).toBe(bin);
    const json = f.encoded('json');
    expect(f.encoded('json')).toBe(json);
    const decoded = decodeServerFrames(bin.data as Uint8Array);
    if (!decoded.ok) throw new Error(decoded.code);
    const m = decoded.value[0];
    if (m?.type !== 'msg') throw new Error('not a msg frame');
    expect({
      ...m,
      payload: Buffer.from(m.payload).toString('base64'),
      sentAt: new Date(m.sentAt).toISOString(),
    }).toEqual(JSON.parse(json.data as string));
    expect(json.bytes).toBe(Buffer.byteLength(json.data as string));
  });

  it('falls back to the JSON frame for a message the binary layout cannot carry', () => {
    const f = new MessageFrames(stored({ payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1) }));
    expect(typeof f.encoded('binary').data).toBe('string');
    expect(f.encoded('binary')).toBe(f.encoded('json'));
  });
});
