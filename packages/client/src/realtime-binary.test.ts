import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeSendFrame, encodeBatch, encodeMsgFrame, type BinaryMsg } from '@palisade/protocol';
import { DeviceKey } from './device-key.js';
import type { PalisadeError } from './errors.js';
import { Realtime, type IncomingMessage, type RealtimeOptions } from './realtime.js';
import type { SocketFactory, SocketLike } from './transport.js';

/**
 * A real WebSocket server that speaks the handshake, confirms binary frames when asked (unless
 * `refuseBinary`), answers each send with `sent`, and records every frame it got.
 */
async function server(opts: { refuseBinary?: boolean } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const got: { binary: boolean; frame: Record<string, unknown> }[] = [];
  const conns: WebSocket[] = [];
  wss.on('connection', (ws) => {
    conns.push(ws);
    ws.send(JSON.stringify({ type: 'challenge', nonce: 'n' }));
    ws.on('message', (d: Buffer, isBinary) => {
      if (isBinary) {
        const r = decodeSendFrame(d);
        if (!r.ok) throw new Error(`client sent a bad binary frame: ${r.code}`);
        got.push({ binary: true, frame: r.value as unknown as Record<string, unknown> });
        ws.send(
          JSON.stringify({
            type: 'sent',
            ref: r.value.ref,
            conversationId: 'c',
            clientMsgId: r.value.clientMsgId,
            seq: got.length,
          }),
        );
        return;
      }
      const f = JSON.parse(d.toString()) as Record<string, unknown>;
      got.push({ binary: false, frame: f });
      if (f.type === 'auth') {
        const frames = f.frames === 'binary' && !opts.refuseBinary ? { frames: 'binary' } : {};
        ws.send(
          JSON.stringify([
            { type: 'ready', userId: 'u', deviceId: 'd', expiresAt: new Date().toISOString(), ...frames },
            { type: 'synced' },
          ]),
        );
      }
      if (f.type === 'send')
        ws.send(
          JSON.stringify({
            type: 'sent',
            ref: f.ref,
            conversationId: 'c',
            clientMsgId: f.clientMsgId,
            seq: got.length,
          }),
        );
    });
  });
  const port = (wss.address() as { port: number }).port;
  return { wss, got, conns, port };
}

/** The SDK's Node socket shape over `ws` (text and binary), as node/transport.ts builds it, without TLS. */
function sockets(port: number, binary = true): SocketFactory {
  return {
    open(path) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
      const s: SocketLike = {
        send: (t) => ws.send(t),
        ...(binary ? { sendBinary: (d: Uint8Array) => ws.send(d) } : {}),
        close: (c, r) => ws.close(c, r),
        onopen: null,
        onmessage: null,
        onbinary: null,
        onclose: null,
      };
      ws.on('message', (d: Buffer, isBinary) => (isBinary ? s.onbinary?.(d) : s.onmessage?.(d.toString())));
      ws.on('close', (c, r) => s.onclose?.(c, r.toString()));
      ws.on('error', () => undefined);
      return s;
    },
  };
}

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

async function connected(opts: { refuseBinary?: boolean; socketBinary?: boolean; options?: RealtimeOptions } = {}) {
  const s = await server(opts);
  const errors: PalisadeError[] = [];
  const received: IncomingMessage[] = [];
  const states: string[] = [];
  const rt = new Realtime(
    sockets(s.port, opts.socketBinary ?? true),
    DeviceKey.generate(),
    () => 'token',
    { error: (e) => errors.push(e), message: (m) => received.push(m), state: (st) => states.push(st) },
    opts.options,
  );
  open.push(rt, s.wss);
  await rt.connect();
  return { rt, errors, received, states, ...s };
}

const msg = (seq: number, payload: Uint8Array): BinaryMsg => ({
  type: 'msg',
  conversationId: 'c',
  seq,
  senderId: 'alice',
  senderDeviceId: 'phone',
  clientMsgId: `m${seq}`,
  sentAt: Date.UTC(2026, 11, 1, 12, 0, 0, seq),
  kind: 'mls',
  payload,
});

describe('Realtime: binary payload frames', () => {
  it('asks for binary, sends binary send frames and hands binary msg frames and batches to the app', async () => {
    const t = await connected();
    expect(t.got[0]?.frame).toMatchObject({ type: 'auth', frames: 'binary' });
    expect(t.rt.frameFormat).toBe('binary');
    const payload = new Uint8Array([0, 255, 1, 254]);
    expect(await t.rt.send('c', 'cm-1', payload)).toBeGreaterThan(0);
    const sent = t.got.find((g) => g.binary);
    expect(sent?.frame).toMatchObject({ ref: 'cm-1', conversationId: 'c', clientMsgId: 'cm-1' });
    expect([...(sent?.frame.payload as Uint8Array)]).toEqual([...payload]);

    const conn = t.conns[0] as WebSocket;
    conn.send(encodeMsgFrame(msg(1, new Uint8Array([7]))));
    conn.send(
      encodeBatch(
        [msg(2, new Uint8Array([8])), msg(3, new Uint8Array(0)), msg(2, new Uint8Array([9]))].map(encodeMsgFrame),
      ),
    );
    conn.send(
      JSON.stringify({
        type: 'msg',
        conversationId: 'c',
        seq: 4,
        senderId: 'alice',
        senderDeviceId: 'phone',
        clientMsgId: 'm4',
        payload: 'Cg==',
        sentAt: new Date(Date.UTC(2026, 11, 1, 12, 0, 0, 4)).toISOString(),
        kind: 'mls',
      }),
    );
    await expect.poll(() => t.received.length).toBe(4);
    // In order, once each (the repeated seq 2 is dropped), and each exactly as the JSON frame carries it.
    expect(t.received.map((m) => [m.seq, [...m.payload]])).toEqual([
      [1, [7]],
      [2, [8]],
      [3, []],
      [4, [10]],
    ]);
    expect(t.received[0]).toEqual({
      conversationId: 'c',
      seq: 1,
      senderId: 'alice',
      senderDeviceId: 'phone',
      clientMsgId: 'm1',
      sentAt: '2026-12-01T12:00:00.001Z',
      kind: 'mls',
      payload: new Uint8Array([7]),
    });
  });

  it('reads a first page that holds ready, the catch-up and synced in one batch', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    open.push(wss);
    wss.on('connection', (ws) => {
      ws.send(JSON.stringify({ type: 'challenge', nonce: 'n' }));
      ws.on('message', () =>
        ws.send(
          encodeBatch([
            JSON.stringify({
              type: 'ready',
              userId: 'u',
              deviceId: 'd',
              expiresAt: new Date().toISOString(),
              frames: 'binary',
            }),
            encodeMsgFrame(msg(1, new Uint8Array([1]))),
            encodeMsgFrame(msg(2, new Uint8Array([2]))),
            JSON.stringify({ type: 'synced' }),
          ]),
        ),
      );
    });
    const received: number[] = [];
    const errors: string[] = [];
    const rt = new Realtime(sockets((wss.address() as { port: number }).port), DeviceKey.generate(), () => 'token', {
      message: (m) => received.push(m.seq),
      error: (e) => errors.push(e.code),
    });
    open.push(rt);
    await rt.connect();
    expect(received).toEqual([1, 2]);
    expect(errors).toEqual([]);
    expect(rt.frameFormat).toBe('binary');
  });

  it('handles JSON frames inside a batch in their place', async () => {
    const t = await connected();
    const typing: string[] = [];
    t.rt.handlers.typing = (f) => typing.push(`${f.userId}@${t.received.length}`);
    const conn = t.conns[0] as WebSocket;
    conn.send(
      encodeBatch([
        encodeMsgFrame(msg(1, new Uint8Array([1]))),
        JSON.stringify({ type: 'typing', conversationId: 'c', userId: 'bob' }),
        encodeMsgFrame(msg(2, new Uint8Array([2]))),
      ]),
    );
    await expect.poll(() => t.received.length).toBe(2);
    expect(typing).toEqual(['bob@1']);
  });

  it('stays on JSON when forced, when the socket cannot carry binary, or when the server does not confirm', async () => {
    for (const opts of [{ options: { frames: 'json' as const } }, { socketBinary: false }, { refuseBinary: true }]) {
      const t = await connected(opts);
      expect(t.rt.frameFormat).toBe('json');
      await t.rt.send('c', 'j-1', new Uint8Array([1, 2]));
      expect(t.got.some((g) => g.binary)).toBe(false);
      expect(t.got.find((g) => g.frame.type === 'send')?.frame).toMatchObject({ payload: 'AQI=' });
      if (!opts.refuseBinary) expect(t.got[0]?.frame.frames).toBeUndefined();
    }
  });

  it('reports a malformed binary frame from the server and reconnects instead of skipping it', async () => {
    const t = await connected();
    const good = encodeMsgFrame(msg(1, new Uint8Array([1])));
    (t.conns[0] as WebSocket).send(good.subarray(0, good.byteLength - 1));
    await expect.poll(() => t.errors.map((e) => e.code)).toEqual(['bad_request']);
    await expect.poll(() => t.conns.length, { timeout: 10_000 }).toBe(2);
    expect(t.received).toEqual([]);
    expect(t.states).toContain('disconnected');
  });
});
