import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpProofMessage } from '@palisade/protocol';
import { login } from '../auth/index.js';
import { loadConfig } from '../config/index.js';
import { silentLogger } from '../core/index.js';
import { generateSelfSignedCertificate } from '../crypto/index.js';
import { ACCOUNT_PERMISSIONS, MEMBER_PERMISSIONS } from '../rbac/index.js';
import { buildCore, type Core } from '../server/index.js';
import { makeUsers, PASS } from '../test-support/users.js';
import { buildHttpApp } from './index.js';
import { ROUTES } from './routes/index.js';

const KNOWN = new Set<string>(['public', 'authenticated', ...Object.values(ACCOUNT_PERMISSIONS).flat(), ...Object.values(MEMBER_PERMISSIONS).flat()]);

/** The expected answer for each route and caller when the route exists but the object does not. */
const ADMIN_ONLY = new Set(['invite.create', 'session.revoke_any', 'user.list']);

describe('v5.0.0-8.1.1 every HTTP route names its access rule (default deny)', () => {
  it('has no route without a known rule', () => {
    for (const r of ROUTES) expect(KNOWN.has(r.access), `${r.method} ${r.url}: ${r.access}`).toBe(true);
    expect(ROUTES.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`).sort()).toEqual(
      ['GET /healthz', 'GET /readyz', 'POST /v1/enrol', 'POST /v1/login', 'POST /v1/login/mfa'].sort(),
    );
  });
});

describe('v5.0.0-8.2.1 authorization matrix over every route', () => {
  let core: Core;
  let app: ReturnType<typeof buildHttpApp>;
  const callers: Record<string, { token: string; key: ReturnType<typeof generateKeyPairSync> } | undefined> = { anonymous: undefined };

  beforeAll(async () => {
    const config = loadConfig({ env: { PALISADE_DATA_DIR: mkdtempSync(join(tmpdir(), 'palisade-matrix-')) } });
    core = await buildCore(config, {}, { log: silentLogger });
    const tls = await generateSelfSignedCertificate();
    app = buildHttpApp({ auth: core.auth, messaging: core.messaging, log: silentLogger, ready: async () => true, draining: () => false }, { ...tls, minVersion: 'TLSv1.3' });
    const [admin, member] = await makeUsers(core.auth, ['matrixadmin', 'matrixmember']);
    for (const [name, p] of [['admin', admin], ['member', member]] as const) {
      const key = generateKeyPairSync('ed25519');
      const pub = (key.publicKey.export({ format: 'jwk' }) as { x: string }).x;
      const s = await login(core.auth, { username: p!.username, password: PASS, device: { publicKey: pub, name: 'm', platform: 'm' } }, '127.0.0.1');
      callers[name] = { token: s.token, key };
    }
  });
  afterAll(async () => {
    await app?.close();
    await core?.store.close();
  });

  const call = (method: string, url: string, who: string) => {
    const c = callers[who];
    const headers: Record<string, string> = {};
    if (c) {
      const ts = Date.now();
      headers.authorization = `Bearer ${c.token}`;
      headers['x-palisade-proof'] = `${ts}.${sign(null, Buffer.from(httpProofMessage(method, url, ts)), c.key.privateKey).toString('base64url')}`;
    }
    return app.inject({ method: method as 'GET', url, headers, payload: method === 'GET' || method === 'DELETE' ? undefined : {} });
  };

  // Logout last: it ends the callers' sessions.
  const ordered = ROUTES.filter((x) => x.access !== 'public').sort((a, b) => Number(a.url === '/v1/logout') - Number(b.url === '/v1/logout'));
  for (const r of ordered) {
    const url = r.url.replace(':id', 'doesnotexist').replace(':userId', 'nobody');
    it(`${r.method} ${r.url} (${r.access})`, async () => {
      const anon = await call(r.method, url, 'anonymous');
      expect(anon.statusCode, 'anonymous').toBe(401);
      const member = await call(r.method, url, 'member');
      const admin = await call(r.method, url, 'admin');
      if (ADMIN_ONLY.has(r.access)) {
        expect(member.statusCode, 'member').toBe(403);
        expect(admin.statusCode, 'admin').not.toBe(403);
        expect(admin.statusCode).not.toBe(401);
      } else {
        // Conversation routes on an object the caller cannot see: 404 (or 400 for an invalid body), never 2xx or 5xx.
        for (const res of [member, admin]) {
          expect(res.statusCode).not.toBe(401);
          expect(res.statusCode).toBeLessThan(500);
          if (/conversations\/:id/.test(r.url)) expect([400, 404]).toContain(res.statusCode);
        }
      }
    });
  }
});

describe('HTTP body parsing under arbitrary input (property)', () => {
  let core: Core;
  let app: ReturnType<typeof buildHttpApp>;
  beforeAll(async () => {
    const config = loadConfig({ env: { PALISADE_DATA_DIR: mkdtempSync(join(tmpdir(), 'palisade-fuzz-')) } });
    core = await buildCore(config, {}, { log: silentLogger });
    const tls = await generateSelfSignedCertificate();
    app = buildHttpApp({ auth: core.auth, messaging: core.messaging, log: silentLogger, ready: async () => true, draining: () => false }, { ...tls, minVersion: 'TLSv1.3' });
  });
  afterAll(async () => {
    await app?.close();
    await core?.store.close();
  });

  it('answers every public POST with a stable error code and never a 500 or a stack trace', async () => {
    const { default: fc } = await import('fast-check');
    const codes = new Set(Object.keys((await import('@palisade/protocol')).ERROR_CODES));
    const bodies = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.jsonValue({ maxDepth: 20 }).map((v) => JSON.stringify(v)),
      fc.record({ token: fc.string(), username: fc.string(), password: fc.string(), device: fc.jsonValue() }).map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/v1/enrol', '/v1/login'), bodies, async (url, payload) => {
        const res = await app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });
        expect(res.statusCode).toBeLessThan(500);
        const body = JSON.parse(res.body) as { code: string };
        expect(codes.has(body.code)).toBe(true);
        expect(res.body).not.toMatch(/\bat .+:\d+:\d+/);
      }),
      { numRuns: 300 },
    );
  });
});
