import { afterAll, describe, expect, it } from 'vitest';
import type { PalisadeClient } from '@palisade/client';
import { pgUp } from '../../packages/server/src/test-support/with-all-stores.js';
import { startStallProxy } from '../../packages/server/src/test-support/stall-proxy.js';
import { LOAD_TEST_CONFIG, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { createTestDatabase, getJson, readAll, sendAll, terminateBackends } from '../support/store-faults.js';
import { createUsers, deviceClient, enrolAdmin, PASS } from '../support/users.js';

const appName = (tag: string) => `palisade-e2e-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

/** Every acknowledged message stored once, in seq order, nothing invented. */
function expectDurable(acked: Map<string, number>, stored: { seq: number; clientMsgId: string }[]): void {
  const storedIds = new Map(stored.map((m) => [m.clientMsgId, m.seq]));
  expect([...acked].filter(([id, seq]) => storedIds.get(id) !== seq)).toEqual([]); // lost or wrong seq
  expect(new Set(stored.map((m) => m.clientMsgId)).size).toBe(stored.length); // no duplicates
  expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
  expect(stored.filter((m) => !acked.has(m.clientMsgId))).toEqual([]); // nothing unexpected
}

(pgUp ? describe : describe.skip)('PostgreSQL store faults, with real server processes (fault tests 5 and 7b)', () => {
  const servers: ServerProcess[] = [];
  const clients: PalisadeClient[] = [];
  const drops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of servers) if (s.child.exitCode === null) await s.stop();
    for (const d of drops) await d();
  });

  it('fault test 5: backends terminated every 200 ms under load: the process lives, sends fail with unavailable, then succeed; nothing acknowledged is lost', async () => {
    const db = await createTestDatabase('palisade_pgkill');
    drops.push(db.drop);
    const app = appName('pgkill');
    const server = await startServerProcess({
      env: { PALISADE_STORE_URL: db.url, PALISADE_STORE_SCHEMA: 'tenant', PGAPPNAME: app },
      config: LOAD_TEST_CONFIG,
    });
    servers.push(server);
    const admin = await enrolAdmin(server);
    const [alice, bob] = (await createUsers(server, admin, ['alice', 'bob'])) as [PalisadeClient, PalisadeClient];
    clients.push(admin, alice, bob);
    const conv = await alice.api.openDirect('bob');
    await alice.connect();

    let terminated = 0;
    let killing: Promise<void> | undefined;
    const ids = Array.from({ length: 600 }, (_, i) => `kill-${i}`);
    const result = await sendAll(alice, conv.id, ids, 16, (n) => {
      killing ??=
        n >= 100
          ? (async () => {
              for (let round = 0; round < 15; round++) {
                terminated += await terminateBackends(db.name, app);
                await new Promise((r) => setTimeout(r, 200)); // pace: the fault's own rhythm, as in the review
              }
            })()
          : undefined;
    });
    await killing;
    expect(terminated).toBeGreaterThan(0);
    expect(server.child.exitCode).toBeNull(); // it used to exit with code 1 at the first termination
    expect(result.acked.size).toBe(ids.length);
    // What the clients saw was the stable, retryable code, never `internal`.
    expect([...result.rejections.keys()].filter((c) => c !== 'unavailable')).toEqual([]);
    expect(result.rejections.get('unavailable')).toBeGreaterThan(0); // the outage was met, and answered cleanly
    expect(server.stderr()).not.toMatch(/Unhandled 'error' event|internal error/);
    expectDurable(result.acked, await readAll(alice, conv.id));
    expect((await getJson(server, '/readyz')).status).toBe(200);
  });

  it('fault test 7b: a stalled store: sends fail with unavailable within the time limit, /readyz answers 503 naming the store, and SIGTERM exits within its bound', async () => {
    const db = await createTestDatabase('palisade_pgstall');
    drops.push(db.drop);
    const target = new URL(db.url);
    const proxy = await startStallProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = db.url.replace(`${target.hostname}:${target.port || 5432}`, `127.0.0.1:${proxy.port}`);
    const config = `${LOAD_TEST_CONFIG}store:\n  queryTimeoutSeconds: 1\nserver:\n  shutdownGraceSeconds: 1\n`;
    const server = await startServerProcess({
      env: { PALISADE_STORE_URL: viaProxy, PGAPPNAME: appName('pgstall') },
      config,
    });
    servers.push(server);
    try {
      const admin = await enrolAdmin(server);
      clients.push(admin);
      const conv = await admin.api.createGroup('stall', []);
      await admin.connect();
      expect(await admin.send(conv.id, new TextEncoder().encode('before'), 'before')).toBe(1);
      proxy.stall();
      const during = await admin.send(conv.id, new TextEncoder().encode('during'), 'during').then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      );
      expect(during).toBe('unavailable');
      const ready = await getJson(server, '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({
        code: 'unavailable',
        details: { checks: { store: { ok: false }, kms: { ok: true } } },
      });
      // A device that (re)connects during the stall is told to try again later (1013), not logged out
      // (4401): once the store answers, it connects with the same session.
      const late = deviceClient(server, admin.deviceKey, admin.token);
      clients.push(late);
      const states: string[] = [];
      late.on.state = (st) => void states.push(st);
      const connecting = late.connect();
      await expect.poll(() => states, { timeout: 15_000 }).toContain('disconnected');
      expect(states).not.toContain('unauthenticated');
      proxy.resume();
      await connecting;
      expect(await late.send(conv.id, new TextEncoder().encode('after'), 'after')).toBeGreaterThan(1);
      proxy.stall();
      const exit = new Promise<number | null>((r) => server.child.once('exit', (code) => r(code)));
      server.child.kill('SIGTERM');
      // It exits while the store is still stalled (it used to wait until the stall ended): at the latest
      // at its bound (grace + 5 s), saying why.
      // (0 when the store-bound steps gave up in time, 1 when the bound ended them, with a line saying why.)
      expect([0, 1]).toContain(await exit);
      expect(server.stderr()).toMatch(/SIGTERM: shutting down/);
    } finally {
      proxy.resume();
      await proxy.close();
    }
  });

  it('two schemas of one database serve at once: two server processes, each enrols, logs in and sends on its own', async () => {
    const db = await createTestDatabase('palisade_twoschemas');
    drops.push(db.drop);
    const [a, b] = await Promise.all(
      ['tenant_a', 'tenant_b'].map((schema) =>
        startServerProcess({
          env: { PALISADE_STORE_URL: db.url, PALISADE_STORE_SCHEMA: schema, PGAPPNAME: appName(schema) },
        }),
      ),
    );
    servers.push(a!, b!);
    for (const [server, name] of [
      [a!, 'alice'],
      [b!, 'bob'],
    ] as const) {
      expect(server.bootstrapToken).toBeDefined(); // each schema is a fresh store with its own first admin
      const admin = await enrolAdmin(server);
      const [user] = (await createUsers(server, admin, [name])) as [PalisadeClient];
      clients.push(admin, user);
      const conv = await user.api.createGroup(`${name}'s room`, []);
      await user.connect();
      const acked = new Map([[`${name}-1`, await user.send(conv.id, new TextEncoder().encode('hi'), `${name}-1`)]]);
      expectDurable(acked, await readAll(user, conv.id));
      expect((await getJson(server, '/readyz')).status).toBe(200);
    }
    // Each server sees only its own schema's accounts: alice exists on A, not on B.
    const stranger = deviceClient(b!);
    clients.push(stranger);
    expect(
      await stranger.login('alice', PASS, 'laptop').then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      ),
    ).toBe('auth_failed');
  });
});
