import { Session } from 'node:inspector/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Api, DeviceKey } from '@palisade/client';
import { nodeHttp } from '@palisade/client/node';
import { FakeClock } from '../core/index.js';
import { PASS } from '../test-support/users.js';
import { startLiveServer, type LiveServer } from '../test-support/live-server.js';

/**
 * Live instances of Node's internal TimersList (one per distinct timer duration) in this process,
 * counted through the inspector. Node deletes the list of a cleared timer at once only when the timer
 * was ref'd; a cleared unref'd timer leaves its empty list until its duration has passed.
 */
async function timerLists(session: Session): Promise<number> {
  // A fresh duration gives the probe a list of its own: its neighbour in the linked list is the list.
  const probe = setTimeout(() => undefined, 900_000_000 + Math.floor(Math.random() * 1e6));
  const proto = Object.getPrototypeOf((probe as unknown as { _idlePrev: object })._idlePrev) as object;
  clearTimeout(probe);
  (globalThis as { __timersListProto?: object }).__timersListProto = proto;
  try {
    const { result } = await session.post('Runtime.evaluate', { expression: 'globalThis.__timersListProto' });
    const { objects } = await session.post('Runtime.queryObjects', { prototypeObjectId: result.objectId! });
    const n = await session.post('Runtime.callFunctionOn', {
      objectId: objects.objectId!,
      functionDeclaration: 'function () { return this.length; }',
      returnByValue: true,
    });
    return n.result.value as number;
  } finally {
    delete (globalThis as { __timersListProto?: object }).__timersListProto;
  }
}

describe('closed WebSockets leave no timer state behind (real server, real TLS)', () => {
  let server: LiveServer;
  const clock = new FakeClock(Date.now());
  const key = DeviceKey.generate();
  let api: Api;
  const session = new Session();

  beforeAll(async () => {
    session.connect();
    server = await startLiveServer(undefined, { clock });
    api = new Api(nodeHttp({ baseUrl: server.baseUrl, ca: server.ca }), key, () => clock.now());
    await api.enrol({ token: server.running.bootstrap!.token, username: 'admin', password: PASS });
    await api.login({ username: 'admin', password: PASS, deviceName: 'laptop' });
  });
  afterAll(async () => {
    await server?.stop();
    session.disconnect();
  });

  /** Opens a WebSocket, authenticates it (the server arms its session-expiry timer) and waits for `synced`. */
  async function openSocket(): Promise<WebSocket> {
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/v1/ws`, { ca: server.ca });
    let synced = false;
    ws.on('message', (d) => {
      const v = JSON.parse((d as Buffer).toString()) as unknown;
      for (const f of (Array.isArray(v) ? v : [v]) as Record<string, unknown>[]) {
        if (f.type === 'challenge')
          ws.send(JSON.stringify({ type: 'auth', token: api.token, signature: key.signChallenge(String(f.nonce)) }));
        if (f.type === 'synced') synced = true;
      }
    });
    ws.on('error', () => undefined);
    await expect.poll(() => synced, { timeout: 10_000 }).toBe(true);
    return ws;
  }

  it('the session-expiry timers of 60 closed connections leave no timer lists (each had its own duration)', async () => {
    const before = await timerLists(session);
    const sockets: WebSocket[] = [];
    for (let i = 0; i < 60; i++) {
      clock.advance(7); // each socket's expiry is a different distance away, as for real connections
      sockets.push(await openSocket());
    }
    expect(server.running.gateway.hub.size).toBe(60);
    for (const ws of sockets) ws.close();
    await expect.poll(() => server.running.gateway.hub.size, { timeout: 10_000 }).toBe(0);
    // Before the fix each closed connection kept an empty list until its session would have expired.
    expect(await timerLists(session)).toBeLessThan(before + 10);
  });
});
