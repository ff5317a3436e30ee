import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceKey } from '@palisade/client';
import { createInvite, enrol, login } from '../auth/index.js';
import { FakeClock } from '../core/index.js';
import { REFUSALS_PER_WINDOW, REFUSAL_WINDOW_MS } from '../rbac/index.js';
import type { Core } from '../server/index.js';
import { injectableApp } from '../test-support/http-app.js';
import { auditRecords } from '../test-support/audit.js';
import { PASS } from '../test-support/users.js';
import { buildHttpApp } from './index.js';

describe('S15 refused authorization is audited through the route pipeline, rate-limited per principal', () => {
  const clock = new FakeClock(Date.now());
  let core: Core;
  let app: ReturnType<typeof buildHttpApp>;
  const users: Record<string, { token: string; key: DeviceKey; userId: string }> = {};

  beforeAll(async () => {
    ({ core, app } = await injectableApp('refusals', { clock }));
    for (const name of ['alice', 'carol', 'dave']) {
      const inv = await createInvite(core.auth, null, { role: 'member', ttlHours: 1 });
      const { userId } = await enrol(core.auth, { token: inv.token, username: name, password: PASS }, '127.0.0.1');
      const key = DeviceKey.generate();
      const s = (await login(
        core.auth,
        { username: name, password: PASS, device: { publicKey: key.publicKey, name: 'd', platform: 'd' } },
        '127.0.0.1',
      )) as { token: string };
      users[name] = { token: s.token, key, userId };
    }
  });
  afterAll(async () => {
    await app?.close();
    await core?.store.close();
  });

  // Each proof is single use (S6): a distinct time per request keeps identical requests distinct.
  let proofs = 0;
  const call = (who: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) => {
    const u = users[who]!;
    const body = payload !== undefined ? JSON.stringify(payload) : undefined;
    const headers: Record<string, string> = {
      authorization: `Bearer ${u.token}`,
      'x-palisade-proof': u.key.httpProof(method, url, clock.now() + proofs++, u.token, body),
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return app.inject({ method, url, headers, ...(body !== undefined ? { payload: body } : {}) });
  };
  const refusals = (who: string) =>
    auditRecords(core.store.db, core.sealer, { actorId: users[who]!.userId, action: 'authz.refused' });

  it('S15: five refused requests (IDOR on a group, admin routes) leave five audit records without bodies', async () => {
    const group = JSON.parse(
      (await call('alice', 'POST', '/v1/conversations', { kind: 'group', name: 'secret plans' })).body,
    ) as { id: string };
    const answers = [
      await call('carol', 'GET', `/v1/conversations/${group.id}/messages`),
      await call('carol', 'GET', `/v1/conversations/${group.id}/receipts`),
      await call('carol', 'GET', '/v1/admin/users'),
      await call('carol', 'POST', `/v1/admin/users/${users.alice!.userId}/roles`, {
        role: 'org_admin',
        reason: 'let me in',
      }),
      await call('carol', 'POST', `/v1/admin/users/${users.alice!.userId}/revoke-sessions`, {}),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([404, 404, 403, 403, 403]);
    const rows = await refusals('carol');
    expect(rows).toHaveLength(5);
    expect(rows.map((r) => [r.details.code, r.details.operation])).toEqual([
      ['not_found', 'GET /v1/conversations/:id/messages'],
      ['not_found', 'GET /v1/conversations/:id/receipts'],
      ['forbidden', 'GET /v1/admin/users'],
      ['forbidden', 'POST /v1/admin/users/:id/roles'],
      ['forbidden', 'POST /v1/admin/users/:id/revoke-sessions'],
    ]);
    expect(rows[0]!.target).toBe(group.id);
    expect(rows[0]!.outcome).toBe('failure');
    expect(JSON.stringify(rows)).not.toMatch(/let me in|secret plans/);
  });

  it(`S15: a flood of refusals writes at most ${REFUSALS_PER_WINDOW} records a minute per principal and counts the rest`, async () => {
    const heard: string[] = [];
    const stop = core.auth.bus.subscribe('security.signal', (e) => {
      if (e.data.kind === 'rate_limited' && e.data.limit === 'authz.refused') heard.push(String(e.data.userId));
    });
    for (let i = 0; i < 30; i++) expect((await call('dave', 'GET', '/v1/admin/users')).statusCode).toBe(403);
    stop();
    expect(await refusals('dave')).toHaveLength(REFUSALS_PER_WINDOW);
    // Detection hears every refusal that was not written, at once (not only in the next record).
    expect(heard).toEqual(Array(30 - REFUSALS_PER_WINDOW).fill(users.dave!.userId));
    // Another principal is not silenced by dave's flood.
    await call('carol', 'GET', '/v1/admin/users');
    expect(await refusals('carol')).toHaveLength(6);
    clock.advance(REFUSAL_WINDOW_MS);
    await call('dave', 'GET', '/v1/admin/users');
    const rows = await refusals('dave');
    expect(rows).toHaveLength(REFUSALS_PER_WINDOW + 1);
    expect(rows.at(-1)!.details.suppressed).toBe(30 - REFUSALS_PER_WINDOW);
  });
});
