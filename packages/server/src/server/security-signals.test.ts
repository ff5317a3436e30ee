import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Api, DeviceKey } from '@palisade/client';
import { nodeHttp } from '@palisade/client/node';
import type { SecuritySignal } from '../core/index.js';
import { PASS } from '../test-support/users.js';
import { startLiveServer, type LiveServer } from '../test-support/live-server.js';
import { rateLimitedSignal } from './compose.js';

/** The signals the server publishes while real clients talk to it over TLS. */
describe('security signals from a real server', () => {
  let server: LiveServer;
  const signals: SecuritySignal[] = [];
  const key = DeviceKey.generate();
  let api: Api;

  beforeAll(async () => {
    server = await startLiveServer();
    server.running.core.auth.bus.subscribe('security.signal', (e) => signals.push(e.data));
    api = new Api(nodeHttp({ baseUrl: server.baseUrl, ca: server.ca }), key);
    await api.enrol({ token: server.running.bootstrap!.token, username: 'alice', password: PASS });
    await api.login({ username: 'alice', password: PASS, deviceName: 'laptop' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a history read is a history.read signal with the count and the reader, never the content', async () => {
    const c = await api.createGroup('signals', []);
    for (let i = 0; i < 3; i++) await api.sendMessage(c.id, new TextEncoder().encode(`secret text ${i}`), `m${i}`);
    await api.history(c.id, 0, 50);
    const read = signals.find((s) => s.kind === 'history.read');
    expect(read).toMatchObject({ kind: 'history.read', conversationId: c.id, count: 3, address: '127.0.0.1' });
    expect(JSON.stringify(read)).not.toContain('secret text');
  });

  /** An authenticated socket of `who`, collecting the frames it gets. */
  function socket(who: Api, whoKey: DeviceKey) {
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/v1/ws`, { ca: server.ca });
    const frames: Record<string, unknown>[] = [];
    ws.on('error', () => undefined);
    ws.on('message', (d) => {
      for (const f of [JSON.parse((d as Buffer).toString()) as Record<string, unknown>].flat()) {
        frames.push(f);
        if (f.type === 'challenge')
          ws.send(JSON.stringify({ type: 'auth', token: who.token, signature: whoKey.signChallenge(String(f.nonce)) }));
      }
    });
    return { ws, frames };
  }

  it('an alert reaches the sockets of security admins, and not of members', async () => {
    const memberKey = DeviceKey.generate();
    const member = new Api(nodeHttp({ baseUrl: server.baseUrl, ca: server.ca }), memberKey);
    await member.enrol({ token: (await api.invite('member')).token, username: 'mallory', password: PASS });
    await member.login({ username: 'mallory', password: PASS, deviceName: 'phone' });
    const admin = socket(api, key);
    const plain = socket(member, memberKey);
    const synced = (s: { frames: Record<string, unknown>[] }) => s.frames.some((f) => f.type === 'synced');
    await expect.poll(() => synced(admin) && synced(plain), { timeout: 10_000 }).toBe(true);
    server.running.core.auth.bus.publish({
      type: 'alert.raised',
      data: {
        alertId: 'a1',
        ruleId: 'auth.brute_force.address',
        severity: 'high',
        title: 'Brute force',
        at: 0,
        count: 1,
      },
    });
    await expect.poll(() => admin.frames.some((f) => f.type === 'alert'), { timeout: 5_000 }).toBe(true);
    expect(admin.frames.find((f) => f.type === 'alert')).toEqual({
      type: 'alert',
      alertId: 'a1',
      ruleId: 'auth.brute_force.address',
      severity: 'high',
      title: 'Brute force',
      at: new Date(0).toISOString(),
      count: 1,
    });
    // A ping answered after the alert proves the member's socket saw the same moment and got none.
    plain.ws.send(JSON.stringify({ type: 'ping', ref: 'after' }));
    await expect.poll(() => plain.frames.some((f) => f.type === 'pong'), { timeout: 5_000 }).toBe(true);
    expect(plain.frames.some((f) => f.type === 'alert')).toBe(false);
    admin.ws.close();
    plain.ws.close();
  });

  it('an authenticated socket is a connection.opened signal', async () => {
    const before = signals.filter((s) => s.kind === 'connection.opened').length;
    const { ws, frames } = socket(api, key);
    await expect.poll(() => frames.some((f) => f.type === 'synced'), { timeout: 10_000 }).toBe(true);
    expect(signals.filter((s) => s.kind === 'connection.opened')).toHaveLength(before + 1);
    const s = signals.find((x) => x.kind === 'connection.opened');
    expect(s).toMatchObject({ address: '127.0.0.1' });
    expect(JSON.stringify(s)).not.toContain(String(api.token));
    ws.close();
  });

  it('a guessing source that is throttled gives login.throttled signals for every refused try', async () => {
    const guesser = new Api(nodeHttp({ baseUrl: server.baseUrl, ca: server.ca }), DeviceKey.generate());
    let refused = 0;
    for (let i = 0; i < 14; i++)
      await guesser.login({ username: 'Alice', password: `wrong ${i}`, deviceName: 'x' }).catch(() => refused++);
    expect(refused).toBe(14);
    const throttled = signals.filter((s) => s.kind === 'login.throttled');
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled[0]).toMatchObject({ username: 'alice', address: '127.0.0.1' });
    expect(JSON.stringify(throttled)).not.toContain('wrong');
  });
});

describe('rateLimitedSignal', () => {
  it('names the source of address limits and the user of user limits, nothing else', () => {
    expect(rateLimitedSignal('login.address', '203.0.113.9/32', 5)).toEqual({
      kind: 'rate_limited',
      at: 5,
      limit: 'login.address',
      address: '203.0.113.9',
    });
    // The limiter reports a network refusal with the address that asked (limits/limiter.ts checkSource).
    expect(rateLimitedSignal('login.network', '203.0.113.9', 5)).toMatchObject({ address: '203.0.113.9' });
    expect(rateLimitedSignal('message.user', 'u1', 5)).toMatchObject({ userId: 'u1' });
    expect(rateLimitedSignal('message.send', 'device-1', 5)).toEqual({
      kind: 'rate_limited',
      at: 5,
      limit: 'message.send',
    });
  });
});
