import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeviceKey } from '@palisade/client';
import { encodeSendFrame, type SessionGrant } from '@palisade/protocol';
import { createInvite, enrol, login } from '../auth/index.js';
import { FakeClock, silentLogger, type Principal } from '../core/index.js';
import { createGroup, readRange, sendMessage } from '../messaging/index.js';
import { openStore, type Store } from '../store/index.js';
import { testDeps } from '../test-support/deps.js';
import { FakeSocket } from '../test-support/fake-socket.js';
import { makeUsers, PASS, uniqueName } from '../test-support/users.js';
import { Connection } from './connection.js';
import type { RealtimeDeps } from './deps.js';
import { CLOSE } from './frame-errors.js';
import { Hub } from './hub.js';

describe('binary payload frames on a connection (Connection + Hub, fake socket, real SQLite)', () => {
  let store: Store;
  const clock = new FakeClock(Date.now());
  let deps: Awaited<ReturnType<typeof testDeps>>;
  let rdeps: RealtimeDeps;
  let alice: Principal;
  const people: { name: string; key: DeviceKey; token: string }[] = [];
  const hubs: Hub[] = [];

  beforeAll(async () => {
    store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'palisade-bin-')) });
    await store.migrate();
    deps = await testDeps(store, clock);
    rdeps = {
      auth: deps.auth,
      messaging: deps.messaging,
      log: silentLogger,
      allowedOrigins: [],
      sweepEveryMs: 3_600_000,
    };
    [alice] = (await makeUsers(deps.auth, [uniqueName('alice')])) as [Principal];
    for (const [i, prefix] of ['bob', 'carol'].entries()) {
      const name = uniqueName(prefix);
      const key = DeviceKey.generate();
      const invite = await createInvite(deps.auth, null, { role: 'member', ttlHours: 1 });
      await enrol(deps.auth, { token: invite.token, username: name, password: PASS }, `10.0.2.${i + 1}`);
      const grant = (await login(
        deps.auth,
        { username: name, password: PASS, device: { publicKey: key.publicKey, name, platform: 'test' } },
        `10.0.2.${i + 1}`,
      )) as SessionGrant;
      people.push({ name, key, token: grant.token });
    }
  });
  afterEach(() => {
    for (const h of hubs.splice(0)) h.close();
  });
  afterAll(async () => store.close());

  const newHub = () => {
    const h = new Hub(rdeps);
    hubs.push(h);
    return h;
  };
  const [bob, carol] = [0, 1];

  /** Opens a connection for person `who`, asking for `frames` in auth, and waits for `synced`. */
  async function connect(hub: Hub, who: number, frames?: 'json' | 'binary') {
    const p = people[who] as (typeof people)[number];
    const s = new FakeSocket();
    const c = new Connection(s.ws, rdeps, hub, '10.0.2.9');
    await expect.poll(() => s.frames().find((f) => f.type === 'challenge')).toBeDefined();
    const nonce = String(s.frames().find((f) => f.type === 'challenge')?.nonce);
    s.clientSends({
      type: 'auth',
      token: p.token,
      signature: p.key.signChallenge(nonce),
      ...(frames ? { frames } : {}),
    });
    await expect.poll(() => s.frames().some((f) => f.type === 'synced'), { timeout: 10_000 }).toBe(true);
    return { s, c };
  }
  const msgs = (s: FakeSocket, conversationId: string) =>
    s.frames().filter((f) => f.type === 'msg' && f.conversationId === conversationId);
  const newGroup = async () =>
    await createGroup(
      deps.messaging,
      alice,
      uniqueName('g'),
      people.map((p) => p.name),
    );

  it('a JSON and a binary connection in one conversation both get the message, with the same fields', async () => {
    const hub = newHub();
    const conv = await newGroup();
    const json = await connect(hub, bob);
    const bin = await connect(hub, carol, 'binary');
    expect(json.s.frames().find((f) => f.type === 'ready')?.frames).toBeUndefined();
    expect(bin.s.frames().find((f) => f.type === 'ready')?.frames).toBe('binary');
    const payload = new Uint8Array([0, 1, 2, 255, 254, 10, 13]);
    await sendMessage(deps.messaging, alice, { conversationId: conv, clientMsgId: 'both-1', payload });
    await expect.poll(() => msgs(bin.s, conv).length).toBe(1);
    await expect.poll(() => msgs(json.s, conv).length).toBe(1);
    expect(json.s.messages.every((m) => typeof m === 'string')).toBe(true);
    const fromBinary = msgs(bin.s, conv)[0] as Record<string, unknown>;
    expect(fromBinary.binary).toBe(true);
    const { binary, ...fields } = fromBinary;
    expect(binary).toBe(true);
    expect(fields).toEqual(msgs(json.s, conv)[0]);
    expect(fields.payload).toBe(Buffer.from(payload).toString('base64'));
  });

  it('serialises a delivered message once: two binary connections get the very same bytes', async () => {
    const hub = newHub();
    const conv = await newGroup();
    const one = await connect(hub, bob, 'binary');
    const two = await connect(hub, carol, 'binary');
    const before = [one.s.messages.length, two.s.messages.length];
    await sendMessage(deps.messaging, alice, {
      conversationId: conv,
      clientMsgId: 'once-1',
      payload: new Uint8Array(40),
    });
    await expect.poll(() => msgs(one.s, conv).length + msgs(two.s, conv).length).toBe(2);
    const a = one.s.messages[before[0] as number];
    const b = two.s.messages[before[1] as number];
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a).toBe(b);
  });

  it('a binary send is stored and acknowledged like a JSON one, and its echo is binary', async () => {
    const hub = newHub();
    const conv = await newGroup();
    const { s } = await connect(hub, bob, 'binary');
    const payload = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) % 256);
    s.clientSendsBinary(encodeSendFrame({ ref: 'r-1', conversationId: conv, clientMsgId: 'bin-1', payload }));
    await expect.poll(() => s.frames().find((f) => f.type === 'sent')).toMatchObject({ ref: 'r-1', seq: 1 });
    const stored = await readRange(deps.messaging, conv, 0, 10);
    expect(stored.map((m) => [m.clientMsgId, Buffer.from(m.payload).equals(Buffer.from(payload))])).toEqual([
      ['bin-1', true],
    ]);
    await expect.poll(() => msgs(s, conv).map((f) => [f.seq, f.binary])).toEqual([[1, true]]);
  });

  it('refuses a binary frame from a connection that did not negotiate binary (4400)', async () => {
    const conv = await newGroup();
    const { s } = await connect(newHub(), bob, 'json');
    s.clientSendsBinary(encodeSendFrame({ conversationId: conv, clientMsgId: 'nope', payload: new Uint8Array(1) }));
    await expect.poll(() => s.closed?.code).toBe(CLOSE.protocolViolation);
    expect(await readRange(deps.messaging, conv, 0, 10)).toEqual([]);
  });

  it('refuses a binary frame before authentication (4400)', async () => {
    const s = new FakeSocket();
    new Connection(s.ws, rdeps, newHub(), '10.0.2.9');
    s.clientSendsBinary(new Uint8Array([1, 1, 0]));
    await expect.poll(() => s.closed?.code).toBe(CLOSE.protocolViolation);
  });

  it('answers a malformed binary frame with the stable error, keeps the connection and the stored data intact', async () => {
    const conv = await newGroup();
    const { s } = await connect(newHub(), bob, 'binary');
    const good = encodeSendFrame({
      ref: 'ok-1',
      conversationId: conv,
      clientMsgId: 'keep-1',
      payload: new Uint8Array([9]),
    });
    s.clientSendsBinary(good);
    await expect.poll(() => s.frames().some((f) => f.type === 'sent' && f.ref === 'ok-1')).toBe(true);
    const before = await readRange(deps.messaging, conv, 0, 10);

    const truncated = encodeSendFrame({
      ref: 'bad-1',
      conversationId: conv,
      clientMsgId: 'x-1',
      payload: new Uint8Array(8),
    });
    s.clientSendsBinary(truncated.subarray(0, truncated.byteLength - 3));
    // A frame under the WebSocket limit whose payload is over 64 KiB.
    const head = encodeSendFrame({
      ref: 'bad-2',
      conversationId: conv,
      clientMsgId: 'x-2',
      payload: new Uint8Array(0),
    });
    const tooBig = new Uint8Array(70_000);
    tooBig.set(head);
    new DataView(tooBig.buffer).setUint32(head.byteLength - 4, 70_000 - head.byteLength);
    s.clientSendsBinary(tooBig);
    s.clientSendsBinary(new Uint8Array([0x09, 0x01]));
    s.clientSends({ type: 'ping', ref: 'after' });
    await expect.poll(() => s.frames().some((f) => f.type === 'pong')).toBe(true);
    const errors = s.frames().filter((f) => f.type === 'error');
    expect(errors.map((f) => [f.code, f.ref])).toEqual([
      ['bad_request', 'bad-1'],
      ['payload_too_large', 'bad-2'],
      ['unknown_frame', undefined],
    ]);
    expect(s.closed).toBeUndefined();
    expect(await readRange(deps.messaging, conv, 0, 10)).toEqual(before);
  });
});
