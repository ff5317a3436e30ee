import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeviceKey } from './device-key.js';
import { Realtime, type ConnectionState, type IncomingMessage } from './realtime.js';
import type { SocketFactory, SocketLike } from './transport.js';

/** One fake WebSocket: records what the SDK sends; the test plays the server. */
class FakeSocket implements SocketLike {
  readonly sent: Record<string, unknown>[] = [];
  closedWith: number | undefined;
  onopen: (() => void) | null = null;
  onmessage: ((text: string) => void) | null = null;
  onclose: ((code: number, reason: string) => void) | null = null;
  send(text: string): void {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(code = 1000): void {
    this.closedWith = code;
  }
  /** The server sends one WebSocket message (a frame, or a page: an array of frames). */
  server(v: object | object[]): void {
    this.onmessage?.(JSON.stringify(v));
  }
  /** The server (or the network) closes the socket. */
  drop(code: number, reason = ''): void {
    this.onclose?.(code, reason);
  }
  sentOf(type: string) {
    return this.sent.filter((f) => f.type === type);
  }
}

class FakeSockets implements SocketFactory {
  readonly opened: FakeSocket[] = [];
  open(): SocketLike {
    const s = new FakeSocket();
    this.opened.push(s);
    return s;
  }
  get last(): FakeSocket {
    return this.opened.at(-1) as FakeSocket;
  }
}

const conv = 'c1';
const msg = (seq: number) => ({
  type: 'msg',
  conversationId: conv,
  seq,
  senderId: 'u2',
  senderDeviceId: 'd2',
  clientMsgId: `m${seq}`,
  payload: 'AQI=',
  sentAt: '2026-12-01T00:00:00.000Z',
});
const page = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => msg(from + i));

describe('SDK Realtime delivery (fake sockets, fake timers)', () => {
  let sockets: FakeSockets;
  let got: IncomingMessage[];
  let states: ConnectionState[];
  let rt: Realtime;
  const key = DeviceKey.generate();

  beforeEach(() => {
    vi.useFakeTimers();
    sockets = new FakeSockets();
    got = [];
    states = [];
    rt = new Realtime(sockets, key, () => 'token-1', { message: (m) => got.push(m), state: (s) => states.push(s) });
  });
  afterEach(() => {
    rt.close();
    vi.useRealTimers();
  });

  /** Plays the handshake on the current socket: challenge, then ready. */
  function handshake(s: FakeSocket): void {
    s.server({ type: 'challenge', nonce: 'n1' });
    s.server({ type: 'ready', userId: 'u1', deviceId: 'd1', expiresAt: '2026-12-02T00:00:00.000Z' });
  }

  it('answers the challenge with the device signature and resolves connect() at synced', async () => {
    const done = rt.connect();
    const s = sockets.last;
    s.server({ type: 'challenge', nonce: 'n1' });
    expect(s.sentOf('auth')).toEqual([{ type: 'auth', token: 'token-1', signature: key.signChallenge('n1') }]);
    s.server({ type: 'ready', userId: 'u1', deviceId: 'd1', expiresAt: '2026-12-02T00:00:00.000Z' });
    s.server({ type: 'synced' });
    await expect(done).resolves.toBeUndefined();
    expect(states).toEqual(['connecting', 'ready', 'synced']);
  });

  it('a catch-up in many pages reaches the application once, in order, and is acknowledged once (coalesced)', () => {
    rt.connect().catch(() => undefined); // settled by close() in afterEach
    const s = sockets.last;
    handshake(s);
    s.server(page(1, 40));
    s.server(msg(41));
    s.server(page(42, 100));
    s.server({ type: 'synced' });
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(got[0]?.payload).toEqual(new Uint8Array([1, 2]));
    expect(s.sentOf('ack')).toEqual([]);
    vi.advanceTimersByTime(25);
    expect(s.sentOf('ack')).toEqual([{ type: 'ack', conversationId: conv, seq: 100 }]);
  });

  it('suppresses duplicates: a seq already handed over is acknowledged again but not delivered again', () => {
    rt.connect().catch(() => undefined); // settled by close() in afterEach
    const s = sockets.last;
    handshake(s);
    s.server(page(1, 5));
    s.server(page(3, 7));
    s.server(msg(2));
    expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    vi.advanceTimersByTime(25);
    expect(s.sentOf('ack').at(-1)).toEqual({ type: 'ack', conversationId: conv, seq: 7 });
  });

  it('reconnect resume after 4008 (too slow): reconnects, re-sends unacknowledged sends with the same clientMsgId, and drops what it already had', async () => {
    rt.connect().catch(() => undefined); // settled by close() in afterEach
    const first = sockets.last;
    handshake(first);
    first.server(page(1, 10));
    const sending = rt.send(conv, 'mine-1', new Uint8Array([9]));
    expect(first.sentOf('send').map((f) => f.clientMsgId)).toEqual(['mine-1']);
    first.drop(4008, 'too slow; reconnect and resume');
    expect(rt.state).toBe('disconnected');
    vi.advanceTimersByTime(100); // the first retry comes within 100 ms
    expect(sockets.opened.length).toBe(2);
    const second = sockets.last;
    handshake(second);
    // Acks not sent before the drop go out on the new socket; the unacknowledged send is repeated.
    expect(second.sentOf('ack')).toEqual([{ type: 'ack', conversationId: conv, seq: 10 }]);
    expect(second.sentOf('send').map((f) => f.clientMsgId)).toEqual(['mine-1']);
    // The server resumes from the device's stored cursor, which may be behind what the SDK has.
    second.server(page(8, 12));
    second.server({ type: 'sent', ref: 'mine-1', conversationId: conv, clientMsgId: 'mine-1', seq: 13 });
    second.server({ type: 'synced' });
    await expect(sending).resolves.toBe(13);
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('4401 stops for good (log in again); other closes keep retrying with backoff', () => {
    const done = rt.connect();
    handshake(sockets.last);
    sockets.last.drop(1006);
    vi.advanceTimersByTime(100);
    expect(sockets.opened.length).toBe(2);
    sockets.last.drop(4401, 'session revoked');
    expect(rt.state).toBe('unauthenticated');
    vi.advanceTimersByTime(60_000);
    expect(sockets.opened.length).toBe(2);
    return expect(done).rejects.toMatchObject({ code: 'session_invalid' });
  });
});
