import { expect, it } from 'vitest';
import { InProcessBus } from '../cluster/index.js';
import { silentLogger, type DomainEvent } from '../core/index.js';
import { testDeps } from '../test-support/deps.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { AuditTail, recordAudit } from './index.js';

withAllStores('audit tail', (h) => {
  it('v5.0.0-16.4.3 publishes committed records in order and never rolled-back ones', async () => {
    const db = h.get().db;
    const { sealer } = (await testDeps(h.get())).auth;
    await recordAudit(db, sealer, { at: 1, actorId: null, action: 'before.start', outcome: 'success' });
    const bus = new InProcessBus();
    const seen: DomainEvent[] = [];
    bus.subscribe('audit.recorded', (e) => seen.push(e));
    const tail = new AuditTail(db, sealer, bus, silentLogger, 10_000);
    await tail.start();
    await recordAudit(db, sealer, { at: 2, actorId: 'u1', action: 'login.failed', address: '10.0.0.1', outcome: 'failure', details: { step: 'password' } });
    await db.transaction().execute(async (tx) => {
      await recordAudit(tx, sealer, { at: 3, actorId: 'u1', action: 'rolled.back', outcome: 'success' });
      throw new Error('abort');
    }).catch(() => undefined);
    await recordAudit(db, sealer, { at: 4, actorId: 'u2', action: 'login.succeeded', outcome: 'success' });
    await tail.poll();
    expect(seen.map((e) => (e.data as { action: string }).action)).toEqual(['login.failed', 'login.succeeded']);
    expect(seen[0]!.data).toMatchObject({ actorId: 'u1', address: '10.0.0.1', outcome: 'failure', details: { step: 'password' } });
    // At rest the address and details are sealed; who, what and when stay clear for filtering.
    const raw = await db.selectFrom('audit_log').selectAll().where('action', '=', 'login.failed').where('actor_id', '=', 'u1').executeTakeFirstOrThrow();
    expect(raw.address).not.toContain('10.0.0.1');
    expect(raw.details).not.toContain('password');
    await tail.stop();
  });
});
