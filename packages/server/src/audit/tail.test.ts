import { expect, it } from 'vitest';
import { InProcessBus } from '../cluster/index.js';
import { silentLogger, type DomainEvent } from '../core/index.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { AuditTail, recordAudit } from './index.js';

withAllStores('audit tail', (h) => {
  it('v5.0.0-16.4.3 publishes committed records in order and never rolled-back ones', async () => {
    const db = h.get().db;
    await recordAudit(db, { at: 1, actorId: null, action: 'before.start', outcome: 'success' });
    const bus = new InProcessBus();
    const seen: DomainEvent[] = [];
    bus.subscribe('audit.recorded', (e) => seen.push(e));
    const tail = new AuditTail(db, bus, silentLogger, 10_000);
    await tail.start();
    await recordAudit(db, { at: 2, actorId: 'u1', action: 'login.failed', address: '10.0.0.1', outcome: 'failure', details: { step: 'password' } });
    await db.transaction().execute(async (tx) => {
      await recordAudit(tx, { at: 3, actorId: 'u1', action: 'rolled.back', outcome: 'success' });
      throw new Error('abort');
    }).catch(() => undefined);
    await recordAudit(db, { at: 4, actorId: 'u2', action: 'login.succeeded', outcome: 'success' });
    await tail.poll();
    expect(seen.map((e) => (e.data as { action: string }).action)).toEqual(['login.failed', 'login.succeeded']);
    expect(seen[0]!.data).toMatchObject({ actorId: 'u1', address: '10.0.0.1', outcome: 'failure', details: { step: 'password' } });
    await tail.stop();
  });
});
