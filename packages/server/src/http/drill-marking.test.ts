import { stat } from 'node:fs/promises';
import { request } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentDrill, FakeClock, readDrillMark, isTestNetAddress } from '../core/index.js';
import { generateSelfSignedCertificate } from '../crypto/index.js';
import { buildCore, type Core } from '../server/index.js';
import { loadConfig } from '../config/index.js';
import { silentLogger } from '../core/index.js';
import { DrillRegistry } from '../server/drills.js';
import { buildHttpApp } from './app.js';
import { registerJsonBodyParser } from './body.js';
import { registerDrillMarking } from './drill-marking.js';
import { toHttpError } from './error-map.js';
import { auditRecords } from '../test-support/audit.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What the test route saw: the drill of its context after awaiting timers, I/O and promises. */
interface Seen {
  before: string | null;
  afterTimer: string | null;
  afterIo: string | null;
  ip: string;
  body: unknown;
}

function addProbe(app: FastifyInstance): void {
  app.post('/probe', async (req) => {
    const before = currentDrill() ?? null;
    // Real I/O through libuv's thread pool, then a macrotask: both resume on their own async resources.
    await stat(import.meta.dirname);
    const afterTimer = currentDrill() ?? null;
    await new Promise((r) => setImmediate(r));
    await Promise.resolve();
    const afterIo = currentDrill() ?? null;
    return { before, afterTimer, afterIo, ip: req.ip, body: req.body } satisfies Seen;
  });
}

function post(port: number, headers: Record<string, string>, body = '{"hello":"world"}') {
  return new Promise<{ status: number; json: Seen & { code?: string } }>((resolve, reject) => {
    const r = request(
      {
        host: '127.0.0.1',
        port,
        path: '/probe',
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let t = '';
        res.on('data', (c) => (t += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(t) }));
      },
    );
    r.on('error', reject);
    // The body comes in a later write, so it is parsed on the socket's own async context.
    r.write(body.slice(0, 3));
    setImmediate(() => r.end(body.slice(3)));
  });
}

describe('drill marking at the HTTP edge (a real listener, a JSON body streamed in two writes)', () => {
  const clock = new FakeClock();
  const drills = new DrillRegistry(clock);
  const live = drills.create({ scenario: 'brute-force', ttlMs: 600_000 });
  const app = Fastify();
  let port = 0;
  beforeAll(async () => {
    registerJsonBodyParser(app);
    app.setErrorHandler(async (err, _req, reply) => {
      const { status, body } = toHttpError(err, silentLogger);
      return reply.code(status).send(body);
    });
    registerDrillMarking(app, drills);
    addProbe(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(() => app.close());

  it('a live token: the handler and everything it awaits run in the drill context', async () => {
    const r = await post(port, { 'x-palisade-drill': live.token });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ before: live.id, afterTimer: live.id, afterIo: live.id, ip: '127.0.0.1' });
    expect(r.json.body).toEqual({ hello: 'world' });
  });

  it('a live token with a TEST-NET source: req.ip becomes that address', async () => {
    for (const ip of ['203.0.113.7', '198.51.100.1', '192.0.2.250']) {
      const r = await post(port, { 'x-palisade-drill': live.token, 'x-palisade-drill-source': ip });
      expect(r.json).toMatchObject({ before: live.id, ip });
    }
  });

  it('a live token with a source outside TEST-NET is refused', async () => {
    for (const ip of ['10.0.0.1', '127.0.0.2', '8.8.8.8', '203.0.114.1', '::1', '203.0.113.07', 'x']) {
      const r = await post(port, { 'x-palisade-drill': live.token, 'x-palisade-drill-source': ip });
      expect(r.status).toBe(400);
      expect(r.json.code).toBe('bad_request');
    }
  });

  it('a forged, absent, finished or expired token: both headers are ignored', async () => {
    const forged = `${live.token.slice(0, -2)}xx`;
    for (const h of [
      { 'x-palisade-drill': forged, 'x-palisade-drill-source': '203.0.113.7' },
      { 'x-palisade-drill-source': '203.0.113.7' },
      { 'x-palisade-drill': '', 'x-palisade-drill-source': '10.0.0.1' },
    ] as Record<string, string>[]) {
      const r = await post(port, h);
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ before: null, afterTimer: null, afterIo: null, ip: '127.0.0.1' });
    }
    const finished = drills.create({ scenario: 'stuffing', ttlMs: 600_000 });
    drills.finish(finished.id);
    expect((await post(port, { 'x-palisade-drill': finished.token })).json.before).toBeNull();
    const expiring = drills.create({ scenario: 'spraying', ttlMs: 60_000 });
    expect((await post(port, { 'x-palisade-drill': expiring.token })).json.before).toBe(expiring.id);
    clock.advance(60_000);
    expect((await post(port, { 'x-palisade-drill': expiring.token })).json.before).toBeNull();
  });

  it("concurrent drill and ordinary requests do not see each other's context", async () => {
    const rs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(port, i % 2 ? { 'x-palisade-drill': live.token } : {})),
    );
    rs.forEach((r, i) => expect(r.json.afterIo).toBe(i % 2 ? live.id : null));
  });
});

describe('readDrillMark and isTestNetAddress', () => {
  const check = { check: (t: string) => (t === 'good' ? 'drill_1' : undefined) };
  it('without a registry or a valid token, nothing is marked and nothing is refused', () => {
    expect(readDrillMark(undefined, 'good', '10.0.0.1')).toBeUndefined();
    expect(readDrillMark(check, 'bad', '10.0.0.1')).toBeUndefined();
    expect(readDrillMark(check, ['good', 'good'], undefined)).toBeUndefined();
  });
  it('a valid token marks; a source must be canonical TEST-NET IPv4', () => {
    expect(readDrillMark(check, 'good', undefined)).toEqual({ drill: 'drill_1' });
    expect(readDrillMark(check, 'good', '203.0.113.255')).toEqual({ drill: 'drill_1', address: '203.0.113.255' });
    expect(() => readDrillMark(check, 'good', ['203.0.113.1', '203.0.113.2'])).toThrow();
    expect(isTestNetAddress('192.0.2.0')).toBe(true);
    for (const bad of [
      '192.0.3.1',
      '198.51.101.1',
      '203.0.113.256',
      '0203.0.113.1',
      '::ffff:203.0.113.1',
      ' 203.0.113.1',
    ])
      expect(isTestNetAddress(bad)).toBe(false);
  });
});

describe('buildHttpApp wires the marking from deps.drills', () => {
  let core: Core;
  let app: ReturnType<typeof buildHttpApp>;
  const drills = new DrillRegistry(new FakeClock());
  const d = drills.create({ scenario: 'stolen-token', ttlMs: 600_000 });
  beforeAll(async () => {
    const config = loadConfig({ env: { PALISADE_DATA_DIR: mkdtempSync(join(tmpdir(), 'palisade-drillmark-')) } });
    core = await buildCore(config, {}, { log: silentLogger });
    const tls = await generateSelfSignedCertificate();
    app = buildHttpApp(
      {
        auth: core.auth,
        messaging: core.messaging,
        e2ee: core.e2ee,
        rbac: core.rbac,
        transparency: core.transparency,
        log: silentLogger,
        ready: () => Promise.resolve({ ready: true, checks: {} }),
        draining: () => false,
        drills,
      },
      { ...tls, minVersion: 'TLSv1.3' },
    );
    addProbe(app);
  });
  afterAll(async () => {
    await app.close();
    await core.store.close();
  });

  it('marks a drill request and moves its address; an ordinary one is untouched', async () => {
    const marked = await app.inject({
      method: 'POST',
      url: '/probe',
      headers: { 'x-palisade-drill': d.token, 'x-palisade-drill-source': '203.0.113.9' },
      payload: { a: 1 },
    });
    expect(marked.json()).toMatchObject({ before: d.id, afterIo: d.id, ip: '203.0.113.9' });
    const plain = await app.inject({ method: 'POST', url: '/probe', payload: { a: 1 } });
    expect(plain.json()).toMatchObject({ before: null, afterIo: null, ip: '127.0.0.1' });
    const refused = await app.inject({
      method: 'POST',
      url: '/probe',
      headers: { 'x-palisade-drill': d.token, 'x-palisade-drill-source': '127.0.0.1' },
      payload: { a: 1 },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json<{ code: string }>().code).toBe('bad_request');
    // A real route on the same app still answers (the hooks do not break the pipeline).
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBeLessThan(500);
    const health = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-palisade-drill': d.token } });
    expect(health.statusCode).toBeLessThan(500);
  });

  it('a drill acting from TEST-NET is limited and audited at that address, and loopback is not blocked', async () => {
    const login = (username: string, headers: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: '/v1/login',
        headers,
        payload: { username, password: 'wrong', device: { publicKey: 'A'.repeat(43), name: 'd', platform: 'p' } },
      });
    const drill = { 'x-palisade-drill': d.token, 'x-palisade-drill-source': '203.0.113.9' };
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await login(`ghost${i}`, drill)).statusCode);
    expect(statuses).toContain(429);
    expect((await login('ghost-loopback', {})).statusCode).toBe(401);
    const failed = await auditRecords(core.store.db, core.sealer, { action: 'login.failed' });
    const addresses = new Set(failed.map((r) => r.address));
    expect(addresses.has('203.0.113.9')).toBe(true);
    expect(addresses.has('127.0.0.1')).toBe(true);
  });
});
