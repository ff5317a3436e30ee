import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Api, DeviceKey } from '@palisade/client';
import { nodeHttp } from '@palisade/client/node';
import { checkSessions, touchSession } from '../auth/index.js';
import { FakeClock } from '../core/index.js';
import { PASS } from '../test-support/users.js';
import { startLiveServer, type LiveServer } from '../test-support/live-server.js';

const MIN = 60_000;
/** The re-check cadence of this suite (config server.sessionRecheckSeconds = 1). */
const RECHECK_MS = 1_000;

// The server's clock and its session timers (re-check cadence, expiry timer) are one FakeClock: a
// re-check or an expiry happens only when a test advances it, so "still open after X" is asserted after
// moving the clock past X and waiting for the re-check that ran at X to finish.
describe('S21: open WebSockets re-check their session (real server, fake clock)', () => {
  let server: LiveServer;
  const clock = new FakeClock(Date.now());

  /** Advances the fake clock by `ms` and waits until the re-check pass(es) it started have finished. */
  async function advanceAndRecheck(ms: number): Promise<void> {
    const hub = server.running.gateway.hub;
    const before = hub.rechecks;
    clock.advance(ms);
    await expect.poll(() => hub.rechecks, { timeout: 5_000 }).toBeGreaterThan(before);
  }
  let pings = 0;
  /** A ping round trip after the re-check: the pong proves the server had not closed it (frames keep order). */
  async function expectOpen(s: { ws: WebSocket; frames: Record<string, unknown>[]; closed: () => unknown }) {
    const ref = `alive-${++pings}`;
    s.ws.send(JSON.stringify({ type: 'ping', ref })); // pings are not session activity
    const answered = () => s.frames.some((f) => f.type === 'pong' && f.ref === ref) || s.closed() !== undefined;
    await expect.poll(answered, { timeout: 5_000 }).toBe(true);
    expect(s.closed()).toBeUndefined();
  }
  const lastUsed = async (sessionId: string) =>
    (
      await server.running.core.store.db
        .selectFrom('sessions')
        .select('last_used_at')
        .where('id', '=', sessionId)
        .executeTakeFirstOrThrow()
    ).last_used_at;
  const key = DeviceKey.generate();
  let admin: Api;
  let conversation: string;

  /** A new session of the same device (the SDK's Api, signing proofs with the server's fake time). */
  async function newSession(): Promise<Api> {
    const api = new Api(nodeHttp({ baseUrl: server.baseUrl, ca: server.ca }), key, () => clock.now());
    await api.login({ username: 'admin', password: PASS, deviceName: 'laptop' });
    return api;
  }

  /** Opens a WebSocket and authenticates it with the device key; collects frames and the close. */
  async function openSocket(api: Api) {
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/v1/ws`, { ca: server.ca });
    const frames: Record<string, unknown>[] = [];
    let closed: { code: number; reason: string } | undefined;
    ws.on('message', (d) => {
      const v = JSON.parse((d as Buffer).toString()) as unknown;
      for (const f of (Array.isArray(v) ? v : [v]) as Record<string, unknown>[]) {
        frames.push(f);
        if (f.type === 'challenge')
          ws.send(JSON.stringify({ type: 'auth', token: api.token, signature: key.signChallenge(String(f.nonce)) }));
      }
    });
    ws.on('close', (code, reason) => (closed = { code, reason: reason.toString() }));
    ws.on('error', () => undefined);
    await expect.poll(() => frames.some((f) => f.type === 'synced'), { timeout: 10_000 }).toBe(true);
    return { ws, frames, closed: () => closed };
  }

  const sessionId = async (api: Api) => (await api.sessions()).sessions.find((s) => s.current)!.id;

  beforeAll(async () => {
    server = await startLiveServer((c) => (c.server.sessionRecheckSeconds = RECHECK_MS / 1000), {
      clock,
      timers: clock,
    });
    const enrol = new Api(nodeHttp({ baseUrl: server.baseUrl, ca: server.ca }), key, () => clock.now());
    await enrol.enrol({ token: server.running.bootstrap!.token, username: 'admin', password: PASS });
    admin = await newSession();
    conversation = (await admin.createGroup('recheck', [])).id;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('S21: a socket that is only open (and pings) is closed with 4401 once the session idles out', async () => {
    const api = await newSession();
    const s = await openSocket(api);
    await advanceAndRecheck(30 * MIN); // a re-check at 30 min passes: still valid
    await expectOpen(s); // and pings at 30 min
    clock.advance(31 * MIN); // 61 min without user activity (pings are not activity)
    await expect.poll(() => s.closed(), { timeout: 5_000 }).toEqual({ code: 4401, reason: 'session idle' });
  });

  it('S21: user activity on the socket keeps the session from idling out', async () => {
    const api = await newSession();
    const id = await sessionId(api); // over HTTP, before the clock moves: the last HTTP activity is at 0
    const s = await openSocket(api);
    await advanceAndRecheck(50 * MIN);
    await expectOpen(s);
    s.ws.send(JSON.stringify({ type: 'typing', conversationId: conversation }));
    await expect.poll(() => lastUsed(id), { timeout: 5_000 }).toBe(clock.now()); // the socket's activity touched it
    await advanceAndRecheck(20 * MIN); // 70 min after login, 20 after the last activity
    await expectOpen(s);
    clock.advance(41 * MIN); // 61 min after the last activity
    await expect.poll(() => s.closed(), { timeout: 5_000 }).toEqual({ code: 4401, reason: 'session idle' });
  });

  it('S21: a shortened expires_at (as a step-up sets) re-arms the expiry timer of an open socket', async () => {
    const api = await newSession();
    const s = await openSocket(api);
    const id = await sessionId(api);
    await server.running.core.store.db
      .updateTable('sessions')
      .set({ expires_at: clock.now() + RECHECK_MS + 500 })
      .where('id', '=', id)
      .execute();
    await advanceAndRecheck(RECHECK_MS); // the re-check finds the session valid and re-arms the timer: 500 ms left
    await expectOpen(s);
    const rechecks = server.running.gateway.hub.rechecks;
    clock.advance(500); // before the next re-check is due: only the re-armed timer can close it
    await expect.poll(() => s.closed(), { timeout: 5_000 }).toEqual({ code: 4401, reason: 'session expired' });
    expect(server.running.gateway.hub.rechecks, 'no re-check ran in between').toBe(rechecks);
  });

  it('S21: activity after the session has idled out does not revive it', async () => {
    const api = await newSession();
    const id = await sessionId(api);
    clock.advance(61 * MIN);
    // What a socket's activity does (the socket itself is closed at the next re-check).
    await touchSession(server.running.core.auth, id);
    expect((await checkSessions(server.running.core.auth, [id])).get(id)).toEqual({ ok: false, problem: 'idle' });
  });

  it('S21: a revoked device closes its sockets at the next re-check even when no event arrives', async () => {
    const api = await newSession();
    const s = await openSocket(api);
    const deviceId = (await api.me()).deviceId;
    // Written behind the domain's back (as another node would, with the event lost): only the re-check sees it.
    await server.running.core.store.db
      .updateTable('devices')
      .set({ revoked_at: clock.now() })
      .where('id', '=', deviceId)
      .execute();
    await expectOpen(s);
    clock.advance(RECHECK_MS); // the next re-check
    await expect.poll(() => s.closed(), { timeout: 5_000 }).toEqual({ code: 4401, reason: 'device revoked' });
  });
});
