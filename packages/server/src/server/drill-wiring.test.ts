import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startLiveServer, type LiveServer } from '../test-support/live-server.js';

/** The status of a GET /healthz with extra headers. */
function status(s: LiveServer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request(`${s.baseUrl}/healthz`, { ca: s.ca, servername: 'localhost', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    r.on('error', reject);
    r.end();
  });
}

/** How a WebSocket upgrade with extra headers ends: `open` or the refusal's status. */
function upgrade(s: LiveServer, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`wss://127.0.0.1:${s.port}/v1/ws`, {
      ca: s.ca,
      servername: 'localhost',
      headers,
    } as WebSocket.ClientOptions);
    ws.on('open', () => (ws.close(), resolve('open')));
    ws.on('unexpected-response', (_q, res) => resolve(String(res.statusCode)));
    ws.on('error', () => resolve('error'));
  });
}

describe('the running server marks drill traffic at both edges (serve.ts passes core.drills)', () => {
  let s: LiveServer;
  let token = '';
  beforeAll(async () => {
    s = await startLiveServer();
    token = s.running.core.drills.create({ scenario: 'all', ttlMs: 600_000 }).token;
  });
  afterAll(() => s.stop());

  it('HTTP: a live token with a non-TEST-NET source is refused; without a token the header is ignored', async () => {
    expect(await status(s, { 'x-palisade-drill': token, 'x-palisade-drill-source': '10.0.0.1' })).toBe(400);
    expect(await status(s, { 'x-palisade-drill': token, 'x-palisade-drill-source': '203.0.113.7' })).toBe(200);
    expect(await status(s, { 'x-palisade-drill': 'forged', 'x-palisade-drill-source': '10.0.0.1' })).toBe(200);
  });

  it('WebSocket: the same rules at the upgrade', async () => {
    expect(await upgrade(s, { 'x-palisade-drill': token, 'x-palisade-drill-source': '10.0.0.1' })).toBe('400');
    expect(await upgrade(s, { 'x-palisade-drill': token, 'x-palisade-drill-source': '198.51.100.4' })).toBe('open');
    expect(await upgrade(s, { 'x-palisade-drill': 'forged', 'x-palisade-drill-source': '10.0.0.1' })).toBe('open');
  });
});
