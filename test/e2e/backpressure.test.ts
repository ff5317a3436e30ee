import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceKey, PalisadeClient, type IncomingMessage } from '@palisade/client';
import { nodeHttp } from '@palisade/client/node';
import { MAX_SERVER_FRAME_BYTES } from '@palisade/protocol';
import { LOAD_TEST_CONFIG, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { rssBytes, tracedSockets, type TracedSockets } from '../support/traced-sockets.js';
import { createUsers, enrolAdmin, PASS } from '../support/users.js';

const MiB = 1024 * 1024;

/** Sends `count` messages of `bytes` each with `window` in flight; resolves when all are acknowledged. */
async function sendMany(
  from: PalisadeClient,
  conversationId: string,
  count: number,
  bytes: number,
  window = 64,
): Promise<void> {
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const payload = new Uint8Array(bytes).fill(i % 251);
      await from.send(conversationId, payload, `bp-${conversationId.slice(0, 6)}-${i}`);
    }
  };
  await Promise.all(Array.from({ length: window }, one));
}

/** A second client of an existing user, on a traced socket factory (frame sizes, pause). */
async function tracedClient(
  server: ServerProcess,
  username: string,
  key: DeviceKey,
): Promise<{ client: PalisadeClient; sockets: TracedSockets; got: IncomingMessage[] }> {
  const sockets = tracedSockets(server);
  const got: IncomingMessage[] = [];
  const client = new PalisadeClient({
    http: nodeHttp(server),
    sockets,
    deviceKey: key,
    handlers: { message: (m) => got.push(m) },
  });
  await client.login(username, PASS, `${username} traced`);
  return { client, sockets, got };
}

/** Asserts `got` is exactly seq 1..n of one conversation, in order, each once. */
function expectComplete(got: IncomingMessage[], n: number): void {
  expect(got.length).toBe(n);
  const bad = got.findIndex((m, i) => m.seq !== i + 1);
  expect(bad).toBe(-1);
}

describe('realtime under load: bounded frames and a bounded send buffer (real server, real TLS)', () => {
  let server: ServerProcess;
  let alice: PalisadeClient;
  const clients: PalisadeClient[] = [];
  beforeAll(async () => {
    server = await startServerProcess({ config: LOAD_TEST_CONFIG });
    const admin = await enrolAdmin(server);
    clients.push(admin);
    [alice] = (await createUsers(server, admin, ['alice'])) as [PalisadeClient];
    clients.push(alice);
    await alice.connect();
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  it('a device coming back to 20,000 waiting 4 KiB messages gets them all, in order, in frames under MAX_SERVER_FRAME_BYTES', async () => {
    const admin = clients[0] as PalisadeClient;
    const [bob] = (await createUsers(server, admin, ['bob'])) as [PalisadeClient];
    clients.push(bob);
    const conv = await alice.api.openDirect('bob');
    await sendMany(alice, conv.id, 20_000, 4096);

    // Bob's device was offline for all of it; it connects now (a new session of the same device).
    const { client, sockets, got } = await tracedClient(server, 'bob', bob.deviceKey);
    clients.push(client);
    await client.connect();

    expectComplete(got, 20_000);
    expect(got.every((m) => m.payload.length === 4096 && m.payload[0] === (m.seq - 1) % 251)).toBe(true);
    expect(Math.max(...sockets.frameBytes)).toBeLessThanOrEqual(MAX_SERVER_FRAME_BYTES);
    // 20,000 × about 5.5 KiB of JSON: hundreds of pages, not one frame.
    expect(sockets.frameBytes.length).toBeGreaterThan((20_000 * 4096) / MAX_SERVER_FRAME_BYTES);
  }, 150_000);

  it('a device that stops reading does not grow server memory past a bound while 48 MiB are sent to it, and then gets everything from its cursor', async () => {
    const admin = clients[0] as PalisadeClient;
    const [carol] = (await createUsers(server, admin, ['carol'])) as [PalisadeClient];
    clients.push(carol);
    carol.close();
    const conv = await alice.api.openDirect('carol');
    const { client, sockets, got } = await tracedClient(server, 'carol', carol.deviceKey);
    clients.push(client);
    await client.connect();

    const pid = server.child.pid as number;
    const before = rssBytes(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 100);
    sockets.pause();
    try {
      await sendMany(alice, conv.id, 3072, 16 * 1024, 32); // 48 MiB of payload
      peak = Math.max(peak, rssBytes(pid));
    } finally {
      clearInterval(sampler);
    }
    // Without a bound the server holds the whole backlog for this socket (about 1.4 bytes of RSS
    // per payload byte: base64 JSON strings, then buffers); with it, one send buffer (8 MiB cap)
    // plus the sender's own traffic.
    expect(peak - before).toBeLessThan(40 * MiB);

    sockets.resume();
    await expect.poll(() => got.length, { timeout: 60_000, interval: 50 }).toBe(3072);
    expectComplete(got, 3072);
    expect(got.every((m) => m.payload.length === 16 * 1024 && m.payload[0] === (m.seq - 1) % 251)).toBe(true);
    expect(Math.max(...sockets.frameBytes)).toBeLessThanOrEqual(MAX_SERVER_FRAME_BYTES);
  }, 150_000);
});
