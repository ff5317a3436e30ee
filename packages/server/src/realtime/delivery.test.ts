import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeviceKey } from '@palisade/client';
import type { SessionGrant } from '@palisade/protocol';
import { createInvite, enrol, login } from '../auth/index.js';
import { FakeClock, silentLogger, type Principal } from '../core/index.js';
import { createGroup, sendMessage } from '../messaging/index.js';
import { openStore, type Store } from '../store/index.js';
import { testDeps } from '../test-support/deps.js';
import { FakeSocket } from '../test-support/fake-socket.js';
import { makeUsers, PASS, uniqueName } from '../test-support/users.js';
import { Connection } from './connection.js';
import type { RealtimeDeps } from './deps.js';
import { CLOSE } from './frame-errors.js';
import { Hub } from './hub.js';
import type { SendLimits } from './send-buffer.js';

/** Small bounds so a few hundred messages exercise paging and congestion. */
const LIMITS: SendLimits = {
  pageBytes: 4096,
  highWater: 16 * 1024,
  lowWater: 4 * 1024,
  hardCap: 64 * 1024,
  stallMs: 10_000,
};

describe('realtime delivery state machine (Connection + Hub, fake socket, fake clock, real SQLite)', () => {
  let store: Store;
  const clock = new FakeClock(Date.now());
  let deps: Awaited<ReturnType<typeof testDeps>>;
  let rdeps: RealtimeDeps;
  let alice: Principal;
  const bobName = uniqueName('bob');
  const bobKey = DeviceKey.generate();
  let bobToken: string;
  const hubs: Hub[] = [];

  beforeAll(async () => {
    store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'palisade-rt-')) });
    await store.migrate();
    deps = await testDeps(store, clock);
    rdeps = {
      auth: deps.auth,
      messaging: deps.messaging,
      log: silentLogger,
      allowedOrigins: [],
      sendLimits: LIMITS,
      sweepEveryMs: 3_600_000,
      monotonicNow: () => clock.now(),
    };
    [alice] = (await makeUsers(deps.auth, [uniqueName('alice')])) as [Principal];
    const invite = await createInvite(deps.auth, null, { role: 'member', ttlHours: 1 });
    await enrol(deps.auth, { token: invite.token, username: bobName, password: PASS }, '10.0.1.1');
    const grant = (await login(
      deps.auth,
      { username: bobName, password: PASS, device: { publicKey: bobKey.publicKey, name: 'bob', platform: 'test' } },
      '10.0.1.1',
    )) as SessionGrant;
    bobToken = grant.token;
  });
  afterEach(() => {
    for (const h of hubs.splice(0)) h.close();
  });
  afterAll(async () => store.close());

  const newConversation = async () => await createGroup(deps.messaging, alice, uniqueName('g'), [bobName]);
  const newHub = () => {
    const h = new Hub(rdeps);
    hubs.push(h);
    return h;
  };

  /** Alice sends `n` messages of `bytes` each (in batches, moving the clock past the rate limits). */
  async function aliceSends(conversationId: string, n: number, bytes = 1000, from = 0, advance = true): Promise<void> {
    for (let i = from; i < from + n; i += 50) {
      const batch = Array.from({ length: Math.min(50, from + n - i) }, (_, k) => i + k);
      await Promise.all(
        batch.map((j) =>
          sendMessage(deps.messaging, alice, {
            conversationId,
            clientMsgId: `m${j}`,
            payload: new Uint8Array(bytes).fill(j % 251),
          }),
        ),
      );
      if (advance) clock.advance(60_000);
    }
  }

  /** Opens bob's connection on a fake socket and authenticates with his device key. */
  async function connectBob(hub: Hub, opts: { paused?: boolean } = {}) {
    const s = new FakeSocket();
    if (opts.paused) s.pause();
    const c = new Connection(s.ws, rdeps, hub, '10.0.1.2');
    await expect.poll(() => s.frames().find((f) => f.type === 'challenge')).toBeDefined();
    const nonce = String(s.frames().find((f) => f.type === 'challenge')?.nonce);
    s.clientSends({ type: 'auth', token: bobToken, signature: bobKey.signChallenge(nonce) });
    return { s, c };
  }

  const seqsOf = (s: FakeSocket, conversationId: string) =>
    s
      .frames()
      .filter((f) => f.type === 'msg' && f.conversationId === conversationId)
      .map((f) => f.seq as number);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const maxMessageBytes = (s: FakeSocket) => Math.max(...s.messages.map((m) => Buffer.byteLength(m)));

  it('catch-up goes out in pages under pageBytes, in order, once, and `synced` comes after the last page', async () => {
    const conv = await newConversation();
    await aliceSends(conv, 150);
    const { s } = await connectBob(newHub());
    await expect.poll(() => s.frames().some((f) => f.type === 'synced'), { timeout: 10_000 }).toBe(true);
    expect(seqsOf(s, conv)).toEqual(range(1, 150));
    expect(maxMessageBytes(s)).toBeLessThanOrEqual(LIMITS.pageBytes);
    expect(s.messages.length).toBeGreaterThan(30);
    const types = s.frames().map((f) => f.type);
    expect(types.lastIndexOf('msg')).toBeLessThan(types.indexOf('synced'));
  });

  it('flow control: a socket that does not read holds at most highWater (plus a page); catch-up goes on once it reads', async () => {
    const conv = await newConversation();
    await aliceSends(conv, 150);
    const { s, c } = await connectBob(newHub(), { paused: true });
    await expect.poll(() => s.unread, { timeout: 10_000 }).toBeGreaterThanOrEqual(LIMITS.highWater);
    const written = s.messages.length;
    await new Promise((r) => setImmediate(r));
    expect(s.messages.length).toBe(written); // nothing more is written while nothing is taken
    expect(s.unread).toBeLessThanOrEqual(LIMITS.highWater + LIMITS.pageBytes);
    expect(c.buffered).toBeLessThanOrEqual(LIMITS.hardCap);
    expect(seqsOf(s, conv).length).toBeLessThan(150);
    s.resume();
    await expect.poll(() => s.frames().some((f) => f.type === 'synced'), { timeout: 10_000 }).toBe(true);
    expect(seqsOf(s, conv)).toEqual(range(1, 150));
  });

  it('behind and resume: live messages to a congested socket wait in the store and follow from the cursor, in order, without duplicates', async () => {
    const conv = await newConversation();
    const { s } = await connectBob(newHub());
    await expect.poll(() => s.frames().some((f) => f.type === 'synced')).toBe(true);
    s.pause();
    await aliceSends(conv, 120);
    await expect.poll(() => seqsOf(s, conv).length).toBeGreaterThan(0);
    const before = seqsOf(s, conv).length;
    expect(before).toBeLessThan(120); // stopped at the high-water mark
    expect(s.unread).toBeLessThanOrEqual(LIMITS.highWater + LIMITS.pageBytes);
    s.resume();
    await expect.poll(() => seqsOf(s, conv).length, { timeout: 10_000 }).toBe(120);
    expect(seqsOf(s, conv)).toEqual(range(1, 120));
    expect(s.closed).toBeUndefined();
  });

  it('duplicate suppression: a seq handed over twice (bus event and store read) goes out once', async () => {
    const conv = await newConversation();
    const { s, c } = await connectBob(newHub());
    await expect.poll(() => s.frames().some((f) => f.type === 'synced')).toBe(true);
    await aliceSends(conv, 3);
    await expect.poll(() => seqsOf(s, conv)).toEqual([1, 2, 3]);
    c.deliver(conv, 2);
    c.deliver(conv, 3);
    await aliceSends(conv, 1, 1000, 3);
    await expect.poll(() => seqsOf(s, conv)).toEqual([1, 2, 3, 4]);
  });

  it('a stalled socket is closed with 4008 only after stallMs without progress', async () => {
    const hub = newHub();
    const conv = await newConversation();
    const { s } = await connectBob(hub);
    await expect.poll(() => s.frames().some((f) => f.type === 'synced')).toBe(true);
    s.pause();
    await aliceSends(conv, 60, 1000, 0, false); // within the rate limits' burst: the clock stays put
    await expect.poll(() => s.unread).toBeGreaterThanOrEqual(LIMITS.highWater);
    hub.sweep();
    expect(s.closed).toBeUndefined();
    clock.advance(LIMITS.stallMs - 1);
    hub.sweep();
    expect(s.closed).toBeUndefined();
    clock.advance(1);
    hub.sweep();
    expect(s.closed?.code).toBe(CLOSE.tooSlow);
    expect(hub.size).toBe(0);
  });

  it('past the hard cap (frames that cannot wait in the store) the socket is closed with 4008', async () => {
    const { s, c } = await connectBob(newHub());
    await expect.poll(() => s.frames().some((f) => f.type === 'synced')).toBe(true);
    s.pause();
    const big = JSON.stringify({ type: 'typing', conversationId: 'x'.repeat(3000), userId: 'u' });
    for (let i = 0; i < 100 && !s.closed; i++) c.push(big);
    expect(s.closed?.code).toBe(CLOSE.tooSlow);
    expect(c.buffered).toBe(0);
  });

  it('reconnect resume: a new connection starts after the acknowledged seq, not after what the last one sent', async () => {
    const hub = newHub();
    const conv = await newConversation();
    await aliceSends(conv, 40);
    const first = await connectBob(hub);
    await expect.poll(() => seqsOf(first.s, conv).length, { timeout: 10_000 }).toBe(40);
    first.s.clientSends({ type: 'ack', conversationId: conv, seq: 25 });
    await expect.poll(() => deps.messaging.cursors.buffered((first.c.principal as Principal).deviceId, conv)).toBe(25);
    first.c.close(1000, 'bye');
    const second = await connectBob(hub);
    await expect.poll(() => second.s.frames().some((f) => f.type === 'synced'), { timeout: 10_000 }).toBe(true);
    expect(seqsOf(second.s, conv)).toEqual(range(26, 40));
  });
});
