import { expect, it } from 'vitest';
import { login } from './index.js';
import { auditRecords } from '../test-support/audit.js';
import { installAuditFailure } from '../test-support/audit-failure.js';
import { testDeps } from '../test-support/deps.js';
import { rejectionOf } from '../test-support/rejection.js';
import { sql } from 'kysely';
import { firstDeviceKeyOf, loginAgain, makeUsers, PASS, uniqueName } from '../test-support/users.js';
import { withAllStores } from '../test-support/with-all-stores.js';

// A password login's risk record commits in the transaction that opens the session (one COMMIT per
// login instead of two); every assessment is still recorded, also when that transaction fails.
withAllStores('a login commits its risk record with its session', (h) => {
  const setup = async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('lc')]);
    const fault = await installAuditFailure(h);
    const db = h.get().db;
    const count = async (action: string) =>
      (await auditRecords(db, deps.auth.sealer, { actorId: u!.userId, action })).length;
    const sessions = async () =>
      (await db.selectFrom('sessions').select('id').where('user_id', '=', u!.userId).execute()).length;
    return { deps, u: u!, fault, db, count, sessions };
  };

  it('writes one risk record and one success record per login, and opens one session', async () => {
    const { deps, u, fault, count, sessions } = await setup();
    await fault.disarm();
    const before = {
      risk: await count('login.risk_assessed'),
      ok: await count('login.succeeded'),
      s: await sessions(),
    };
    await loginAgain(deps.auth, u);
    expect(await count('login.risk_assessed')).toBe(before.risk + 1);
    expect(await count('login.succeeded')).toBe(before.ok + 1);
    expect(await sessions()).toBe(before.s + 1);
  });

  it('opens no session when its risk record cannot be written', async () => {
    const { deps, u, fault, count, sessions } = await setup();
    const before = { ok: await count('login.succeeded'), s: await sessions() };
    await fault.arm('login.risk_assessed');
    try {
      await expect(loginAgain(deps.auth, u)).rejects.toThrow(/injected audit failure/);
    } finally {
      await fault.disarm();
    }
    expect(await sessions()).toBe(before.s);
    expect(await count('login.succeeded')).toBe(before.ok);
  });

  it('records the assessment when a step before the record’s transaction fails (the KMS preparing the session)', async () => {
    const { deps, u, fault, count, sessions } = await setup();
    await fault.disarm();
    const before = { risk: await count('login.risk_assessed'), s: await sessions() };
    const sealer = deps.auth.sealer;
    const prepare = sealer.prepare.bind(sealer);
    // A first login counts the key preparations a login makes; the last is the session's (after the
    // assessment, before the record's transaction).
    let calls = 0;
    sealer.prepare = (scope) => (calls++, prepare(scope));
    await loginAgain(deps.auth, u);
    const perLogin = calls;
    expect(await count('login.risk_assessed')).toBe(before.risk + 1);
    // The second login's last preparation fails, as when the KMS goes away mid-login.
    calls = 0;
    sealer.prepare = (scope) => (++calls >= perLogin ? Promise.reject(new Error('kms unavailable')) : prepare(scope));
    try {
      await expect(loginAgain(deps.auth, u)).rejects.toThrow(/kms unavailable/);
    } finally {
      sealer.prepare = prepare;
    }
    expect(await count('login.risk_assessed')).toBe(before.risk + 2);
    expect(await sessions()).toBe(before.s + 1);
  });

  it('keeps the risk record when the session transaction rolls back', async () => {
    const { deps, u, fault, count, sessions } = await setup();
    const before = { risk: await count('login.risk_assessed'), s: await sessions() };
    await fault.arm('login.succeeded');
    try {
      await expect(loginAgain(deps.auth, u)).rejects.toThrow(/injected audit failure/);
    } finally {
      await fault.disarm();
    }
    expect(await sessions()).toBe(before.s);
    // Rolled back with the session, then written again on its own: exactly one.
    expect(await count('login.risk_assessed')).toBe(before.risk + 1);
  });

  it('records the assessment of a login refused inside the transaction (revoked device key)', async () => {
    const { deps, u, db, count, sessions } = await setup();
    const publicKey = firstDeviceKeyOf(u.userId);
    await db
      .updateTable('devices')
      .set({ revoked_at: deps.clock.now() })
      .where('user_id', '=', u.userId)
      .where('public_key', '=', publicKey)
      .execute();
    const before = { risk: await count('login.risk_assessed'), s: await sessions() };
    const refused = await rejectionOf(
      login(
        deps.auth,
        { username: u.username, password: PASS, device: { publicKey, name: 't', platform: 't' } },
        '10.0.0.9',
      ),
    );
    expect(refused).toMatchObject({ code: 'invalid_device_key' });
    expect(await count('login.risk_assessed')).toBe(before.risk + 1);
    expect(await sessions()).toBe(before.s);
  });
});

withAllStores('risk history reads by index', (h) => {
  it('audit_log has the (actor_id, action, at) index the login history query searches', async () => {
    const db = h.get().db;
    if (h.kind === 'sqlite') {
      const plan = await sql<{
        detail: string;
      }>`EXPLAIN QUERY PLAN SELECT id, uid, at, address, action FROM audit_log WHERE actor_id = ${'x'} AND action IN ('login.succeeded', 'login.failed') AND at > ${0} ORDER BY at DESC LIMIT 2000`.execute(
        db,
      );
      expect(plan.rows.map((r) => r.detail).join(' ')).toMatch(/USING INDEX audit_log_actor_action_at/);
    } else {
      const r = await sql<{
        indexdef: string;
      }>`SELECT indexdef FROM pg_indexes WHERE tablename = 'audit_log' AND indexname = 'audit_log_actor_action_at'`.execute(
        db,
      );
      expect(r.rows[0]?.indexdef).toMatch(/\(actor_id, action, at\)/);
    }
  });
});
