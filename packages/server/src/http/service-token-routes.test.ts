import { describe, expect, it } from 'vitest';
import type { Principal } from '../core/index.js';
import { ACCOUNT_PERMISSIONS } from '../rbac/index.js';
import { assertServiceTokenRoute } from './route.js';
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
});
