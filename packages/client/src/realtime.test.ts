import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { MAX_PAYLOAD_BYTES } from '@palisade/protocol';
import { DeviceKey } from './device-key.js';
import { PalisadeError } from './errors.js';
import { Realtime, type RealtimeOptions } from './realtime.js';
import type { SocketFactory, SocketLike } from './transport.js';

/** What the test server does with a `send` frame. */
type OnSend = (ws: WebSocket, frame: { ref?: string; clientMsgId: string; conversationId: string }) => void;

/** A real WebSocket server that speaks the handshake and hands each `send` to the test. */
async function server(onSend: OnSend) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const frames: { type: string }[] = [];
  wss.on('connection', (ws) => {
    ws.send(JSON.stringify({ type: 'challenge', nonce: 'n' }));
    ws.on('message', (d) => {
      const f = JSON.parse((d as Buffer).toString()) as {
        type: string;
        ref?: string;
        clientMsgId: string;
        conversationId: string;
      };
      frames.push(f);
      if (f.type === 'auth')
        ws.send(
          JSON.stringify([
            { type: 'ready', userId: 'u', deviceId: 'd', expiresAt: new Date().toISOString() },
            { type: 'synced' },
          ]),
        );
      if (f.type === 'send') onSend(ws, f);
    });
  });
  const port = (wss.address() as { port: number }).port;
  const clients: WebSocket[] = [];
  const sockets: SocketFactory = {
    open(path) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
      clients.push(ws);
      const s: SocketLike = {
        send: (t) => ws.send(t),
        close: (c, r) => ws.close(c, r),
        onopen: null,
        onmessage: null,
        onclose: null,
      };
      ws.on('message', (d) => s.onmessage?.((d as Buffer).toString()));
      ws.on('close', (c, r) => s.onclose?.(c, r.toString()));
      ws.on('error', () => undefined);
      return s;
    },
  };
  return { wss, frames, sockets, clients };
}

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

async function connected(onSend: OnSend, options: RealtimeOptions = {}) {
  const s = await server(onSend);
  const errors: PalisadeError[] = [];
  const rt = new Realtime(s.sockets, DeviceKey.generate(), () => 'token', { error: (e) => errors.push(e) }, options);
  open.push(rt, s.wss);
  await rt.connect();
  return { rt, errors, frames: s.frames, clients: s.clients, wss: s.wss };
}

const reason = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: PalisadeError) => e.code,
  );

describe('Realtime: every pending send settles', () => {
  it('refuses an over-size payload on its own request, sending nothing, and goes on', async () => {
    const { rt, frames } = await connected((ws, f) =>
      ws.send(
        JSON.stringify({
          type: 'sent',
          ref: f.ref,
          conversationId: f.conversationId,
          clientMsgId: f.clientMsgId,
          seq: 1,
        }),
      ),
    );
    await expect(rt.send('c1', 'm1', new Uint8Array(MAX_PAYLOAD_BYTES + 1))).rejects.toMatchObject({
      code: 'payload_too_large',
    });
    expect(rt.pendingSends).toBe(0);
    await expect(rt.send('c1', 'm2', new Uint8Array(10))).resolves.toBe(1);
    expect(frames.filter((f) => f.type === 'send')).toHaveLength(1);
  });

  it("rejects a send with the server's error for its ref", async () => {
    const { rt } = await connected((ws, f) =>
      ws.send(JSON.stringify({ type: 'error', ref: f.ref, code: 'forbidden', message: 'no' })),
    );
    await expect(rt.send('c1', 'm1', new Uint8Array(1))).rejects.toMatchObject({ code: 'forbidden', message: 'no' });
    expect(rt.pendingSends).toBe(0);
  });

  it('an error without a ref goes to the handler, and the send ends by its answer clock', async () => {
    const { rt, errors } = await connected(
      (ws) =>
        ws.send(JSON.stringify({ type: 'error', code: 'bad_request', message: 'frame does not match the schema' })),
      { sendTimeoutMs: 200 },
    );
    expect(await reason(rt.send('c1', 'm1', new Uint8Array(1)))).toBe('timeout');
    expect(errors.map((e) => e.code)).toEqual(['bad_request']);
    expect(rt.pendingSends).toBe(0);
  });

  it('rejects pending sends with session_invalid when the server ends the session (4401)', async () => {
    const { rt } = await connected((ws) => ws.close(4401, 'session revoked'));
    const states: string[] = [];
    rt.handlers.state = (s) => states.push(s);
    await expect(rt.send('c1', 'm1', new Uint8Array(1))).rejects.toMatchObject({
      code: 'session_invalid',
      message: 'session revoked',
    });
    expect(states).toEqual(['unauthenticated']);
    expect(rt.pendingSends).toBe(0);
  });

  it('rejects pending sends with network on close()', async () => {
    const { rt } = await connected(() => undefined);
    const p = reason(rt.send('c1', 'm1', new Uint8Array(1)));
    expect(rt.pendingSends).toBe(1);
    rt.close();
    expect(await p).toBe('network');
  });

  it('closed() waits for the closing handshake, so the server records 1000 rather than a cut socket', async () => {
    const { rt, clients, wss } = await connected(() => undefined);
    const serverCodes: number[] = [];
    for (const c of wss.clients) c.on('close', (code) => serverCodes.push(code));
    const client = clients[0]!;
    rt.close();
    expect(client.readyState).toBe(WebSocket.CLOSING);
    await rt.closed(10_000);
    expect(client.readyState).toBe(WebSocket.CLOSED);
    await expect.poll(() => serverCodes).toEqual([1000]);
  });
});

describe('Realtime: MLS frames', () => {
  it('passes welcome and key_packages_low frames to onFrame, and tells commits from application messages', async () => {
    const s = await server((ws, f) =>
      ws.send(
        JSON.stringify([
          { type: 'welcome', id: 'w1', conversationId: 'c1', seq: 1, welcome: 'AAEC' },
          { type: 'key_packages_low', stock: 3 },
          {
            type: 'msg',
            conversationId: 'c1',
            seq: 1,
            senderId: 'u2',
            senderDeviceId: 'd2',
            clientMsgId: 'mls-commit:0',
            payload: 'AAE=',
            sentAt: new Date().toISOString(),
            kind: 'commit',
          },
          { type: 'sent', ref: f.ref, conversationId: f.conversationId, clientMsgId: f.clientMsgId, seq: 2 },
        ]),
      ),
    );
    const other: { type: string }[] = [];
    const kinds: string[] = [];
    const rt = new Realtime(s.sockets, DeviceKey.generate(), () => 'token', {
      onFrame: (fr) => other.push(fr),
      message: (m) => kinds.push(m.kind),
    });
    open.push(rt, s.wss);
    await rt.connect();
    await expect(rt.send('c1', 'm1', new Uint8Array(1))).resolves.toBe(2);
    expect(other).toEqual([
      { type: 'welcome', id: 'w1', conversationId: 'c1', seq: 1, welcome: 'AAEC' },
      { type: 'key_packages_low', stock: 3 },
    ]);
    expect(kinds).toEqual(['commit']);
  });
});
