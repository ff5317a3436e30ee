import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Config } from '../config/index.js';
import { startLiveServer, type LiveServer } from '../test-support/live-server.js';

/** POST /v1/login/passkey/options (public, limited per address) with an X-Forwarded-For; returns the status. */
function options(server: LiveServer, forwardedFor: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request(
      `${server.baseUrl}/v1/login/passkey/options`,
      {
        method: 'POST',
        ca: server.ca,
        servername: 'localhost',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    r.on('error', reject);
    r.end('{}');
  });
}

/** Opens a WebSocket with an X-Forwarded-For; resolves with the handshake status (101 when it opened). */
function upgrade(server: LiveServer, forwardedFor: string): Promise<number> {
  return new Promise((resolve) => {
    // ws hands `servername` on to tls.connect, though its ClientOptions type does not list it.
    const opts: WebSocket.ClientOptions & { servername: string } = {
      ca: server.ca,
      servername: 'localhost',
      headers: { 'x-forwarded-for': forwardedFor },
    };
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/v1/ws`, opts);
    ws.on('open', () => (ws.close(), resolve(101)));
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => undefined);
  });
}

/** Trusts `trustProxy`, and allows one passkey-options request and one WebSocket per address. */
const tight = (trustProxy: string[]) => (c: Config) => {
  c.server.trustProxy = trustProxy;
  c.limits.overrides = {
    'login.passkey_options': { burst: 1, perSecond: 0.001 },
    'connect.address': { burst: 1, perSecond: 0.001 },
  };
};

describe('server.trustProxy: whose address the per-address limits see', () => {
  let trusting: LiveServer;
  let plain: LiveServer;
  beforeAll(async () => {
    [trusting, plain] = await Promise.all([startLiveServer(tight(['127.0.0.1'])), startLiveServer(tight([]))]);
  });
  afterAll(async () => {
    await Promise.all([trusting?.stop(), plain?.stop()]);
  });

  it('behind a trusted proxy, HTTP limits count per client address from X-Forwarded-For', async () => {
    expect(await options(trusting, '198.51.100.1')).toBe(200);
    expect(await options(trusting, '198.51.100.1')).toBe(429);
    expect(await options(trusting, '198.51.100.2')).toBe(200);
    // A client that prepends a forged hop is still counted by what the proxy appended.
    expect(await options(trusting, '198.51.100.3, 198.51.100.1')).toBe(429);
  });

  it('behind a trusted proxy, WebSocket connection limits count per client address too', async () => {
    expect(await upgrade(trusting, '203.0.113.1')).toBe(101);
    expect(await upgrade(trusting, '203.0.113.1')).toBe(429);
    expect(await upgrade(trusting, '203.0.113.2')).toBe(101);
  });

  it('without trustProxy (the default), X-Forwarded-For is ignored: the socket peer is the client', async () => {
    expect(await options(plain, '198.51.100.1')).toBe(200);
    expect(await options(plain, '198.51.100.2')).toBe(429);
    expect(await upgrade(plain, '203.0.113.1')).toBe(101);
    expect(await upgrade(plain, '203.0.113.2')).toBe(429);
  });
});
