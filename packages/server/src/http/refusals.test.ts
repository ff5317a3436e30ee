import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceKey } from '@palisade/client';
import { createInvite, enrol, login } from '../auth/index.js';
import { loadConfig } from '../config/index.js';
import { FakeClock, silentLogger } from '../core/index.js';
import { generateSelfSignedCertificate } from '../crypto/index.js';
import { REFUSALS_PER_WINDOW, REFUSAL_WINDOW_MS } from '../rbac/index.js';
import { buildCore, type Core } from '../server/index.js';
import { auditRecords } from '../test-support/audit.js';
import { PASS } from '../test-support/users.js';
import { buildHttpApp } from './index.js';

describe('S15 refused authorization is audited through the route pipeline, rate-limited per principal', () => {
  const clock = new FakeClock(Date.now());
  let core: Core;
  let app: ReturnType<typeof buildHttpApp>;
  const users: Record<string, { token: string; key: DeviceKey; userId: string }> = {};

  beforeAll(async () => {
    const config = loadConfig({ env: { PALISADE_DATA_DIR: mkdtempSync(join(tmpdir(), 'palisade-refusals-')) } });
    core = await buildCore(config, {}, { log: silentLogger, clock });
    const tls = await generateSelfSignedCertificate();
    app = buildHttpApp({ auth: core.auth, messaging: core.messaging, rbac: core.rbac, log: silentLogger, ready: async () => true, draining: () => false }, { ...tls, minVersion: 'TLSv1.3' });
    for (const name of ['alice', 'carol', 'dave']) {
      const inv = await createInvite(core.auth, null, { role: 'member', ttlHours: 1 });
      const { userId } = await enrol(core.auth, { token: inv.token, username: name, password: PASS }, '127.0.0.1');
      const key = DeviceKey.generate();
      const s = (await login(core.auth, { username: name, password: PASS, device: { publicKey: key.publicKey, name: 'd', platform: 'd' } }, '127.0.0.1')) as { token: string };
      users[name] = { token: s.token, key, userId };
    }
  });
  afterAll(async () => {
    await app?.close();
    await core?.store.close();
  });

  let lastProofMs = 0;
  const call = (who: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) => {
    const u = users[who]!;
    // Each proof is used once: strictly increasing times, as the SDK does.
    lastProofMs = Math.max(clock.now(), lastProofMs + 1);
    // The proof signs the exact body bytes and the session token (S6 proof v2).
    const text = payload === undefined ? undefined : JSON.stringify(payload);
    const headers = { authorization: `Bearer ${u.token}`, 'x-palisade-proof': u.key.httpProof(method, url, lastProofMs, u.token, text), ...(text !== undefined ? { 'content-type': 'application/json' } : {}) };
    return app.inject({ method, url, headers, ...(text !== undefined ? { payload: text } : {}) });
  };
  const refusals = (who: string) => auditRecords(core.store.db, core.sealer, { actorId: users[who]!.userId, action: 'authz.refused' });

  it('S15: five refused requests (IDOR on a group, admin routes) leave five audit records without bodies', async () => {
    const group = JSON.parse((await call('alice', 'POST', '/v1/conversations', { kind: 'group', name: 'secret plans' })).body) as { id: string };
    const answers = [
      await call('carol', 'GET', `/v1/conversations/${group.id}/messages`),
      await call('carol', 'GET', `/v1/conversations/${group.id}/receipts`),
      await call('carol', 'GET', '/v1/admin/users'),
      await call('carol', 'POST', `/v1/admin/users/${users.alice!.userId}/roles`, { role: 'org_admin', reason: 'let me in' }),
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
    for (let i = 0; i < 30; i++) expect((await call('dave', 'GET', '/v1/admin/users')).statusCode).toBe(403);
    expect(await refusals('dave')).toHaveLength(REFUSALS_PER_WINDOW);
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
