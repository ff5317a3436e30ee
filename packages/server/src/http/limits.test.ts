import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { DeviceKey } from '@palisade/client';
import { createNodeClient } from '@palisade/client/node';
import { PASS } from '../test-support/users.js';
import { parseRawResponse, startLiveServer, tlsSocket, type LiveServer } from '../test-support/live-server.js';
import { SECURITY_HEADERS } from './app.js';

const CAP = 4;

/** Opens `n` TLS connections from `localAddress` and reports which completed the handshake. */
async function openMany(server: LiveServer, n: number, localAddress?: string) {
  const sockets = Array.from({ length: n }, () => tlsSocket(server, localAddress));
  const secured = await Promise.all(sockets.map((s) => s.secured));
  return { sockets, secured, closeAll: () => sockets.forEach((s) => s.socket.destroy()) };
}

/**
 * Waits until `n` connections from 127.0.0.1 complete their handshake at once (slots are freed as the
 * server sees sockets close); each try closes what it opened.
 */
async function waitForSlots(server: LiveServer, n = 1): Promise<void> {
  await vi.waitFor(
    async () => {
      const tried = await openMany(server, n);
      tried.closeAll();
      expect(tried.secured, `${n} free connection slot(s)`).toEqual(Array(n).fill(true));
    },
    { timeout: 10_000, interval: 50 },
  );
}

/**
 * Resolves when the server has cut off a silent TLS connection opened now: its own headers/request
 * deadline fired. Node's HTTP timers take no fake clock, so "an older connection outlived the timeouts"
 * waits for this event on the server's timers instead of a guessed sleep.
 */
async function serverCutsOffASilentConnection(server: LiveServer): Promise<void> {
  const s = tlsSocket(server, '127.0.0.3'); // an address of its own: 127.0.0.1's slots are the test's
  expect(await s.secured).toBe(true);
  const r = await s.done(10_000);
  s.socket.destroy();
  expect(r.closed, 'the server closes a connection that sends nothing').toBe(true);
}

describe('S8: request, body and idle timeouts and connection caps (real server, short limits)', () => {
  let server: LiveServer;
  beforeAll(async () => {
    server = await startLiveServer((c) => {
      c.http.requestTimeoutSeconds = 2;
      c.http.headersTimeoutSeconds = 2;
      c.http.idleTimeoutSeconds = 3;
      c.http.keepAliveTimeoutSeconds = 1;
      c.http.maxConnectionsPerAddress = CAP;
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('S8: a slow-body POST (1 byte a second) is answered 408 request_timeout and closed after the request timeout', async () => {
    const s = tlsSocket(server);
    expect(await s.secured).toBe(true);
    s.socket.write(
      'POST /v1/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{',
    );
    const drip = setInterval(() => s.socket.writable && s.socket.write(' '), 1_000);
    const r = await s.done(10_000);
    clearInterval(drip);
    s.socket.destroy();
    expect(r.closed, 'the server must close a slow body').toBe(true);
    const res = parseRawResponse(r.text);
    expect(res.status).toBe(408);
    expect(JSON.parse(res.body)).toEqual({ code: 'request_timeout', message: 'request not received in time' });
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(res.headers[k], k).toBe(v);
  });

  it('S8: slow headers are answered 408 request_timeout and closed', async () => {
    const s = tlsSocket(server);
    expect(await s.secured).toBe(true);
    s.socket.write('GET /healthz HTTP/1.1\r\n');
    const drip = setInterval(() => s.socket.writable && s.socket.write('x-a: b\r\n'), 1_000);
    const r = await s.done(10_000);
    clearInterval(drip);
    s.socket.destroy();
    expect(r.closed).toBe(true);
    expect(parseRawResponse(r.text).status).toBe(408);
  });

  it('S8: a TLS connection that never sends a request is closed', async () => {
    const s = tlsSocket(server);
    expect(await s.secured).toBe(true);
    const r = await s.done(10_000);
    s.socket.destroy();
    expect(r.closed).toBe(true);
  });

  it('S8: a bare TCP connection that never starts TLS is closed after the headers timeout', async () => {
    const sock = connect({ host: '127.0.0.1', port: server.port });
    sock.on('error', () => undefined);
    const closed = await new Promise<boolean>((resolve) => {
      sock.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 10_000);
    });
    sock.destroy();
    expect(closed).toBe(true);
  });

  it('S8: connections over the per-address cap are refused while another address still connects', async () => {
    await waitForSlots(server);
    const held = await openMany(server, CAP);
    expect(held.secured).toEqual(Array(CAP).fill(true));
    const extra = await openMany(server, 2);
    expect(extra.secured, 'over the cap from 127.0.0.1').toEqual([false, false]);
    const other = tlsSocket(server, '127.0.0.2');
    expect(await other.secured, 'another address').toBe(true);
    other.socket.write('GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    const r = await other.done(5_000);
    expect(parseRawResponse(r.text).status).toBe(200);
    // Closing one frees its slot.
    held.sockets[0]!.socket.destroy();
    await waitForSlots(server);
    held.closeAll();
    extra.closeAll();
  });

  it('S8: pre-auth WebSockets count against the cap; an authenticated one stops counting and outlives the timeouts', async () => {
    await waitForSlots(server);
    // Unauthenticated WebSockets hold slots until they authenticate (or the 10 s auth timeout).
    const pending = Array.from(
      { length: CAP },
      () => new WebSocket(`wss://127.0.0.1:${server.port}/v1/ws`, { ca: server.ca }),
    );
    await Promise.all(pending.map((w) => new Promise((r) => w.once('open', r))));
    const over = await openMany(server, 1);
    expect(over.secured, 'pre-auth sockets fill the cap').toEqual([false]);
    for (const w of pending) w.terminate();

    await waitForSlots(server);
    const key = DeviceKey.generate();
    const client = createNodeClient({ baseUrl: server.baseUrl, ca: server.ca, deviceKey: key });
    await client.api.enrol({ token: server.running.bootstrap!.token, username: 'capadmin', password: PASS });
    await client.login('capadmin', PASS, 'laptop');
    await client.connect();
    const changes: string[] = [];
    client.on.state = (st) => changes.push(st); // a drop would show even if the SDK reconnected at once
    // The authenticated WebSocket no longer takes a slot: all CAP come free once the SDK's keep-alive
    // HTTP sockets have closed (keepAliveTimeout 1 s).
    await waitForSlots(server, CAP);
    // Two silent connections, each opened after the WebSocket, cut off one after the other by the
    // server's deadline (>= 2 s each): its timers ran past the request (2 s) and idle (3 s) timeouts.
    await serverCutsOffASilentConnection(server);
    await serverCutsOffASilentConnection(server);
    expect(client.realtime.state, 'the live connection outlived the timeouts').toBe('synced');
    expect(changes, 'never dropped or reconnected').toEqual([]);
    client.close();
  });
});
