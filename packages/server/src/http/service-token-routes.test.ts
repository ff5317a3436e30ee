import { describe, expect, it } from 'vitest';
import type { Principal } from '../core/index.js';
import { ACCOUNT_PERMISSIONS } from '../rbac/index.js';
import { assertServiceTokenRoute, BOUND_SERVICE_TOKEN_ROUTES } from './route.js';
import { ROUTES } from './routes/index.js';

const bot = {
  userId: 'b',
  username: 'bot.deploy',
  roles: ['service'],
  deviceId: 'token:t',
  sessionId: 'token:t',
  aal: 1,
  strongAuthAt: null,
  scopes: [{ action: 'message.send', conversations: '*' }],
} as unknown as Principal;
const user = { ...bot, username: 'alice', roles: ['member'], scopes: undefined } as unknown as Principal;
const ACCOUNT = new Set<string>(Object.values(ACCOUNT_PERMISSIONS).flat());
const allowed = (r: (typeof ROUTES)[number], p: Principal) => {
  try {
    assertServiceTokenRoute(r, p);
    return true;
  } catch {
    return false;
  }
};

describe('S14: service tokens reach only an allowlist of routes', () => {
  it('S14: a service token may use conversation-scoped routes and authenticated reads only; users are unaffected', () => {
    const protectedRoutes = ROUTES.filter((r) => r.access !== 'public');
    for (const r of protectedRoutes) {
      const expected =
        (r.access === 'authenticated' && r.method === 'GET') ||
        (r.access !== 'authenticated' && !ACCOUNT.has(r.access));
      expect(allowed(r, bot), `${r.method} ${r.url}`).toBe(expected);
      expect(allowed(r, user), `${r.method} ${r.url}`).toBe(true);
    }
    expect(
      allowed(
        ROUTES.find((r) => r.method === 'PATCH' && r.url === '/v1/me')!,
        bot,
      ),
    ).toBe(false);
    expect(protectedRoutes.filter((r) => allowed(r, bot)).map((r) => `${r.method} ${r.url}`)).toContain('GET /v1/me');
  });

  it('a device-bound token adds exactly the MLS member writes; it still cannot PATCH /v1/me or manage devices', () => {
    const bound = { ...bot, deviceId: 'dev-bot', deviceBound: true } as unknown as Principal;
    const key = (r: (typeof ROUTES)[number]) => `${r.method} ${r.url}`;
    const protectedRoutes = ROUTES.filter((r) => r.access !== 'public');
    // Every allow-listed route exists, so a renamed route cannot silently drop out of the list.
    for (const k of BOUND_SERVICE_TOKEN_ROUTES) expect(protectedRoutes.map(key), k).toContain(k);
    const extra = protectedRoutes.filter((r) => allowed(r, bound) && !allowed(r, bot)).map(key);
    expect(extra.sort()).toEqual([...BOUND_SERVICE_TOKEN_ROUTES].sort());
    for (const k of [
      'POST /v1/e2ee/credential',
      'POST /v1/mls/key-packages',
      'POST /v1/mls/key-packages/claim',
      'DELETE /v1/mls/welcomes/:id',
      'GET /v1/mls/welcomes',
      'POST /v1/conversations/:id/mls/commit',
      'POST /v1/conversations/:id/messages',
    ])
      expect(
        allowed(
          protectedRoutes.find((r) => key(r) === k)!,
          bound,
        ),
        k,
      ).toBe(true);
    for (const k of ['PATCH /v1/me', 'POST /v1/service-accounts', 'POST /v1/invites']) {
      const r = protectedRoutes.find((x) => key(x) === k);
      expect(r, k).toBeDefined();
      expect(allowed(r!, bound), k).toBe(false);
    }
    // Device management stays refused (no device route is in the list).
    for (const r of protectedRoutes.filter((x) => x.url.startsWith('/v1/devices') && x.method !== 'GET'))
      expect(allowed(r, bound), key(r)).toBe(false);
    // The flag alone does not lift the account-permission check for users or unbound tokens.
    expect(
      allowed(
        protectedRoutes.find((r) => key(r) === 'POST /v1/e2ee/credential')!,
        bot,
      ),
    ).toBe(false);
  });
});
