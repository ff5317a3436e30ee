import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpProofMessage } from '@palisade/protocol';
import { createInvite, createServiceAccount, enrol, issueServiceToken, login } from '../auth/index.js';
import { ACCOUNT_PERMISSIONS, accountCan, MEMBER_PERMISSIONS, type AccountPermission } from '../rbac/index.js';
import type { Core } from '../server/index.js';
import { injectableApp } from '../test-support/http-app.js';
import { PASS } from '../test-support/users.js';
import { buildHttpApp } from './index.js';
import { ROUTES } from './routes/index.js';

const KNOWN = new Set<string>([
  'public',
  'authenticated',
  ...Object.values(ACCOUNT_PERMISSIONS).flat(),
  ...Object.values(MEMBER_PERMISSIONS).flat(),
]);

const ACCOUNT_PERMS = new Set<string>(Object.values(ACCOUNT_PERMISSIONS).flat());
/** Roles of each caller in the matrix. */
const ROLES: Record<string, string[]> = {
  admin: ['member', 'org_admin', 'security_admin'],
  member: ['member'],
  guest: ['guest'],
};

describe('v5.0.0-8.1.1 every HTTP route names its access rule (default deny)', () => {
  it('has no route without a known rule', () => {
    for (const r of ROUTES) expect(KNOWN.has(r.access), `${r.method} ${r.url}: ${r.access}`).toBe(true);
    expect(
      ROUTES.filter((r) => r.access === 'public')
        .map((r) => `${r.method} ${r.url}`)
        .sort(),
    ).toEqual(
      [
        'GET /healthz',
        'GET /readyz',
        'POST /v1/enrol',
        'POST /v1/enrol/check',
        'POST /v1/login',
        'POST /v1/login/mfa',
        'POST /v1/login/passkey',
        'POST /v1/login/passkey/options',
        'POST /v1/sso/start',
        'GET /v1/sso/begin/:id',
        'GET /v1/sso/callback',
        'POST /v1/sso/complete',
      ].sort(),
    );
  });
});

describe('v5.0.0-8.2.1 authorization matrix over every route', () => {
  let core: Core;
  let app: ReturnType<typeof buildHttpApp>;
  const callers: Record<string, { token: string; key: ReturnType<typeof generateKeyPairSync> } | undefined> = {
    anonymous: undefined,
  };

  beforeAll(async () => {
    ({ core, app } = await injectableApp('matrix'));
    // Each caller enrols through an invite and logs in first on the matrix's own device key.
    const setups = [
      ['admin', 'member', ['org_admin', 'security_admin']],
      ['member', 'member', []],
      ['guest', 'guest', []],
    ] as const;
    for (const [name, role, grants] of setups) {
      const inv = await createInvite(core.auth, null, { role, grants: [...grants], ttlHours: 1 });
      await enrol(core.auth, { token: inv.token, username: `matrix${name}`, password: PASS }, '127.0.0.1');
      const key = generateKeyPairSync('ed25519');
      const pub = (key.publicKey.export({ format: 'jwk' }) as { x: string }).x;
      const s = (await login(
        core.auth,
        { username: `matrix${name}`, password: PASS, device: { publicKey: pub, name: 'm', platform: 'm' } },
        '127.0.0.1',
      )) as { token: string };
      callers[name] = { token: s.token, key };
    }
    // A service token that has expired: every protected route must refuse it.
    const adminPrincipal = {
      userId: 'x',
      username: 'x',
      roles: ['org_admin'],
      deviceId: 'x',
      sessionId: 'x',
      aal: 2,
      strongAuthAt: Date.now(),
    } as never;
    const svc = await createServiceAccount(core.auth, adminPrincipal, 'matrixbot');
    const t = await issueServiceToken(core.auth, adminPrincipal, svc.id, {
      scopes: [{ action: 'conversation.read', conversations: '*' }],
      expiresInDays: 1,
      ratePerMinute: 6000,
    });
    await core.store.db
      .updateTable('service_tokens')
      .set({ expires_at: Date.now() - 1 })
      .where('id', '=', t.id)
      .execute();
    expiredServiceToken = t.token;
  });
  let expiredServiceToken = '';
  afterAll(async () => {
    await app?.close();
    await core?.store.close();
  });

  let lastTs = 0;
  const call = (method: string, url: string, who: string) => {
    const c = callers[who];
    const headers: Record<string, string> = {};
    const payload = method === 'GET' || method === 'DELETE' ? undefined : '{}';
    if (c) {
      // Proofs are single use: a strictly increasing time per request.
      const ts = (lastTs = Math.max(Date.now(), lastTs + 1));
      const sha = (b: string) => createHash('sha256').update(b).digest('hex');
      const message = httpProofMessage({
        method,
        pathAndQuery: url,
        unixMs: ts,
        bodySha256: sha(payload ?? ''),
        sessionSha256: sha(c.token),
      });
      headers.authorization = `Bearer ${c.token}`;
      headers['x-palisade-proof'] = `${ts}.${sign(null, Buffer.from(message), c.key.privateKey).toString('base64url')}`;
    }
    if (payload !== undefined) headers['content-type'] = 'application/json';
    return app.inject({ method: method as 'GET', url, headers, payload });
  };

  // Logout last: it ends the callers' sessions.
  const ordered = ROUTES.filter((x) => x.access !== 'public').sort(
    (a, b) => Number(a.url === '/v1/logout') - Number(b.url === '/v1/logout'),
  );
  for (const r of ordered) {
    const url = r.url.replace(':id', 'doesnotexist').replace(':userId', 'nobody');
    it(`${r.method} ${r.url} (${r.access})`, async () => {
      const anon = await call(r.method, url, 'anonymous');
      expect(anon.statusCode, 'anonymous').toBe(401);
      const expired = await app.inject({
        method: r.method as 'GET',
        url,
        headers: { authorization: `Bearer ${expiredServiceToken}` },
        payload: r.method === 'GET' || r.method === 'DELETE' ? undefined : {},
      });
      expect(
        [expired.statusCode, (JSON.parse(expired.body) as { code?: string }).code],
        'expired service token',
      ).toEqual([401, 'session_invalid']);
      for (const who of ['admin', 'member', 'guest']) {
        const res = await call(r.method, url, who);
        const body = JSON.parse(res.body) as { code: string };
        expect(res.statusCode, who).not.toBe(401);
        expect(res.statusCode, who).toBeLessThan(500);
        const allowed = !ACCOUNT_PERMS.has(r.access) || accountCan(ROLES[who]!, r.access as AccountPermission);
        if (!allowed) expect([res.statusCode, body.code], `${who} must be refused`).toEqual([403, 'forbidden']);
        // Allowed callers pass authorization; what follows is step-up, validation or a missing object.
        else expect(body.code, `${who} must pass authorization`).not.toBe('forbidden');
        if (allowed && /conversations\/:id/.test(r.url)) expect([400, 404]).toContain(res.statusCode);
      }
    });
  }
});

describe('HTTP body parsing under arbitrary input (property)', () => {
  let core: Core;
  let app: ReturnType<typeof buildHttpApp>;
  beforeAll(async () => {
    ({ core, app } = await injectableApp('fuzz'));
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
      fc
        .record({ token: fc.string(), username: fc.string(), password: fc.string(), device: fc.jsonValue() })
        .map((v) => JSON.stringify(v)),
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
