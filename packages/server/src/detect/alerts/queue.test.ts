import { expect, it } from 'vitest';
import { silentLogger } from '../../core/index.js';
import { testDeps } from '../../test-support/deps.js';
import { withAllStores } from '../../test-support/with-all-stores.js';
import { Alerter } from './alerter.js';
import type { AlertChannel } from './channels/index.js';
import { backoffMs, DeliveryWorker } from './delivery-worker.js';
import type { AlertPayload } from './model.js';

/** A channel that fails its first `failures` sends, then keeps what it is sent. */
function flaky(name: string, failures: number): AlertChannel & { sent: AlertPayload[]; tries: number } {
  const ch = {
    name,
    type: 'webhook' as const,
    sent: [] as AlertPayload[],
    tries: 0,
    send(p: AlertPayload) {
      ch.tries += 1;
      if (ch.tries <= failures) return Promise.reject(new Error(`${name}: HTTP 503`));
      ch.sent.push(p);
      return Promise.resolve();
    },
  };
  return ch;
}

withAllStores('the alert delivery queue', (h) => {
  it('retries with backoff until delivered, gives up when too old, and reads the alert as stored', async () => {
    const d = await testDeps(h.get());
    const db = h.get().db;
    const ok = flaky(`ok-${Math.random()}`, 2);
    const down = flaky(`down-${Math.random()}`, Infinity);
    const routes = [ok, down].map((c) => ({ name: c.name, minSeverity: 'low' as const }));
    const alerter = new Alerter({
      db,
      sealer: d.auth.sealer,
      bus: d.bus,
      clock: d.clock,
      log: silentLogger,
      channels: routes,
      groupWindowMinutes: 15,
    });
    const worker = new DeliveryWorker({
      db,
      sealer: d.auth.sealer,
      clock: d.clock,
      timers: d.clock,
      log: silentLogger,
      channels: [ok, down],
      bus: d.bus,
      maxAgeHours: 1,
      maxBackoffMinutes: 10,
      random: () => 0,
    });
    worker.start();
    const a = await alerter.raise({
      id: 'f1',
      ruleId: 'login_spray',
      severity: 'medium',
      at: d.clock.now(),
      firstSeenAt: d.clock.now(),
      subject: { kind: 'address', id: `198.51.100.${Math.floor(Math.random() * 250)}` },
      explanation: '60 failed logins on 40 accounts in 5 minutes',
      evidence: { failures: 60 },
    });
    await worker.idle();
    const rows = () =>
      db.selectFrom('alert_deliveries').selectAll().where('alert_id', '=', a.id).orderBy('channel').execute();
    expect((await rows()).map((r) => [r.state, Number(r.attempts)])).toEqual([
      ['pending', 1],
      ['pending', 1],
    ]);
    d.clock.advance(backoffMs(1, 600_000, () => 0));
    await worker.idle();
    d.clock.advance(backoffMs(2, 600_000, () => 0));
    await worker.idle();
    expect(ok.sent.map((p) => [p.id, p.explanation, p.count])).toEqual([
      [a.id, '60 failed logins on 40 accounts in 5 minutes', 1],
    ]);
    for (let i = 0; i < 10; i++) {
      d.clock.advance(10 * 60_000);
      await worker.idle();
    }
    const [x, y] = await rows();
    const byName = new Map([x!, y!].map((r) => [r.channel, r]));
    expect(byName.get(ok.name)).toMatchObject({ state: 'delivered', last_error: null });
    expect(Number(byName.get(ok.name)!.attempts)).toBe(3);
    expect(byName.get(down.name)).toMatchObject({ state: 'dead' });
    expect(byName.get(down.name)!.last_error).toMatch(/HTTP 503/);
    await worker.stop();
    expect(d.clock.pendingTimers).toBe(0);
  });
});
