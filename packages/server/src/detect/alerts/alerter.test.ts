import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/index.js';
import { auditRecords } from '../../test-support/audit.js';
import { installAuditFailure } from '../../test-support/audit-failure.js';
import { testDeps } from '../../test-support/deps.js';
import { withAllStores } from '../../test-support/with-all-stores.js';
import type { Finding, Severity } from '../types.js';
import { Alerter, type ChannelRoute } from './alerter.js';
import { groupKeyOf } from './model.js';

let n = 0;
/** A finding of rule `ruleId` on a fresh (or the given) account. */
function finding(over: Partial<Finding> = {}, at = Date.UTC(2026, 0, 1)): Finding {
  n += 1;
  return {
    id: `f${n}-${Math.random().toString(36).slice(2)}`,
    ruleId: 'bulk_read',
    severity: 'high',
    at,
    firstSeenAt: at - 60_000,
    subject: { kind: 'account', id: `u-${Math.random().toString(36).slice(2)}` },
    userId: 'u1',
    explanation: 'read 4,812 messages at 03:10; usual is under 40',
    evidence: { reads: 4812, usual: 40, address: '203.0.113.7' },
    ...over,
  };
}

const CHANNELS: ChannelRoute[] = [
  { name: 'soc-webhook', minSeverity: 'medium' },
  { name: 'pager', minSeverity: 'critical' },
];

withAllStores('alerts: grouping, sealing, deliveries and audit', (h) => {
  const setup = async (window = 15) => {
    const d = await testDeps(h.get());
    const alerter = new Alerter({
      db: h.get().db,
      sealer: d.auth.sealer,
      bus: d.bus,
      clock: d.clock,
      log: silentLogger,
      channels: CHANNELS,
      groupWindowMinutes: window,
    });
    const deliveries = (alertId: string) =>
      h
        .get()
        .db.selectFrom('alert_deliveries')
        .selectAll()
        .where('alert_id', '=', alertId)
        .orderBy('channel')
        .execute();
    const raised = () => d.events.filter((e) => e.type === 'alert.raised');
    return { ...d, alerter, deliveries, raised };
  };

  it('a new alert is stored with one delivery per channel it meets, audited, and announced', async () => {
    const { alerter, deliveries, raised, auth, clock } = await setup();
    const f = finding({}, clock.now());
    const a = await alerter.raise(f);
    expect(a).toMatchObject({
      ruleId: 'bulk_read',
      severity: 'high',
      state: 'open',
      count: 1,
      groupKey: groupKeyOf(f),
    });
    expect(a.firstAt).toBe(f.firstSeenAt);
    const ds = await deliveries(a.id);
    expect(ds.map((x) => [x.channel, x.state, Number(x.attempts)])).toEqual([['soc-webhook', 'pending', 0]]);
    expect(raised().map((e) => e.data)).toEqual([
      { alertId: a.id, ruleId: 'bulk_read', severity: 'high', title: a.title, at: f.at, count: 1 },
    ]);
    const audit = await auditRecords(h.get().db, auth.sealer, { action: 'alert.raised', target: a.id });
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({ ruleId: 'bulk_read', count: 1, channels: ['soc-webhook'] });
  });

  it('explanation and evidence are sealed at rest and opened by get()', async () => {
    const { alerter, clock } = await setup();
    const a = await alerter.raise(finding({}, clock.now()));
    const raw = await h.get().db.selectFrom('alerts').selectAll().where('id', '=', a.id).executeTakeFirstOrThrow();
    expect(raw.explanation).not.toContain('4,812');
    expect(raw.evidence).not.toContain('203.0.113.7');
    const got = await alerter.get(a.id);
    expect(got?.explanation).toBe('read 4,812 messages at 03:10; usual is under 40');
    expect(got?.evidence).toEqual({ reads: 4812, usual: 40, address: '203.0.113.7' });
    expect(await alerter.get('nope')).toBeUndefined();
  });

  it('a repeat within the window groups (count, lastAt grow) with no delivery; severity rising sends again', async () => {
    const { alerter, deliveries, raised, clock } = await setup();
    const subject = { kind: 'account' as const, id: `u-${Math.random()}` };
    const a = await alerter.raise(finding({ subject, severity: 'medium' }, clock.now()));
    clock.advance(60_000);
    const b = await alerter.raise(finding({ subject, severity: 'medium' }, clock.now()));
    expect(b.id).toBe(a.id);
    expect(b.count).toBe(2);
    expect(b.lastAt).toBe(clock.now());
    expect(await deliveries(a.id)).toHaveLength(1);
    expect(raised()).toHaveLength(1);
    clock.advance(60_000);
    const c = await alerter.raise(finding({ subject, severity: 'critical' }, clock.now()));
    expect(c).toMatchObject({ id: a.id, count: 3, severity: 'critical' });
    expect((await deliveries(a.id)).map((x) => x.channel)).toEqual(['pager', 'soc-webhook', 'soc-webhook']);
    expect(raised()).toHaveLength(2);
    // a lower severity later does not lower the alert, and sends nothing within the window
    clock.advance(60_000);
    const d = await alerter.raise(finding({ subject, severity: 'low' }, clock.now()));
    expect(d).toMatchObject({ count: 4, severity: 'critical' });
    expect(await deliveries(a.id)).toHaveLength(3);
  });

  it('a repeat after the window notifies again; other subjects, rules and drills form their own alerts', async () => {
    const { alerter, deliveries, clock } = await setup(10);
    const subject = { kind: 'account' as const, id: `u-${Math.random()}` };
    const a = await alerter.raise(finding({ subject }, clock.now()));
    clock.advance(10 * 60_000);
    const b = await alerter.raise(finding({ subject }, clock.now()));
    expect(b.id).toBe(a.id);
    expect(await deliveries(a.id)).toHaveLength(2);
    const other = await alerter.raise(finding({ subject: { ...subject, id: `${subject.id}x` } }, clock.now()));
    const rule = await alerter.raise(finding({ subject, ruleId: 'impossible_travel' }, clock.now()));
    const drill = await alerter.raise(finding({ subject, drill: 'd1' }, clock.now()));
    expect(new Set([a.id, other.id, rule.id, drill.id]).size).toBe(4);
    expect(drill.drill).toBe('d1');
    expect(drill.title).toContain('[drill d1]');
  });

  it('acknowledge and resolve record who and when, are audited, and a resolved group starts anew', async () => {
    const { alerter, auth, clock } = await setup();
    const subject = { kind: 'address' as const, id: '198.51.100.9' + Math.random() };
    const a = await alerter.raise(finding({ subject }, clock.now()));
    clock.advance(1000);
    const ack = await alerter.acknowledge(a.id, 'admin-1');
    expect(ack).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'admin-1', acknowledgedAt: clock.now() });
    // an acknowledged alert still groups repeats
    expect((await alerter.raise(finding({ subject }, clock.now()))).id).toBe(a.id);
    clock.advance(1000);
    const res = await alerter.resolve(a.id, 'admin-2', 'password reset, sessions revoked');
    expect(res).toMatchObject({ state: 'resolved', resolvedBy: 'admin-2', resolvedAt: clock.now(), count: 2 });
    expect((await alerter.get(a.id))?.resolutionNote).toBe('password reset, sessions revoked');
    await expect(alerter.resolve(a.id, 'admin-2')).rejects.toMatchObject({ code: 'already_decided' });
    await expect(alerter.acknowledge(a.id, 'admin-2')).rejects.toMatchObject({ code: 'already_decided' });
    await expect(alerter.acknowledge('missing', 'admin-2')).rejects.toMatchObject({ code: 'not_found' });
    const racing = await alerter.raise(finding({ subject: { ...subject, id: `${subject.id}r` } }, clock.now()));
    const outcomes = await Promise.allSettled([1, 2, 3].map((i) => alerter.resolve(racing.id, `admin-${i}`)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(await auditRecords(h.get().db, auth.sealer, { action: 'alert.resolved', target: racing.id })).toHaveLength(
      1,
    );
    const again = await alerter.raise(finding({ subject }, clock.now()));
    expect(again.id).not.toBe(a.id);
    const db = h.get().db;
    const acks = await auditRecords(db, auth.sealer, { action: 'alert.acknowledged', target: a.id });
    const resolves = await auditRecords(db, auth.sealer, { action: 'alert.resolved', target: a.id });
    expect(acks.map((r) => r.actorId)).toEqual(['admin-1']);
    expect(resolves.map((r) => r.actorId)).toEqual(['admin-2']);
    expect(JSON.stringify(resolves[0]!.details)).not.toContain('password reset');
  });

  it('list filters by state, since and drill, newest first, with a limit', async () => {
    const { alerter, clock } = await setup();
    clock.advance(10 * 86_400_000); // past every other test's alerts (each has its own clock from the same start)
    const t0 = clock.now() + 1;
    clock.advance(5);
    const x = await alerter.raise(finding({}, clock.now()));
    clock.advance(5);
    const y = await alerter.raise(finding({ drill: 'dr-list' }, clock.now()));
    clock.advance(5);
    const z = await alerter.raise(finding({}, clock.now()));
    await alerter.resolve(z.id, 'admin');
    const since = await alerter.list({ since: t0 });
    expect(since.map((a) => a.id)).toEqual([z.id, y.id, x.id]);
    expect((await alerter.list({ since: t0, state: 'open' })).map((a) => a.id)).toEqual([y.id, x.id]);
    expect((await alerter.list({ since: t0, drill: 'dr-list' })).map((a) => a.id)).toEqual([y.id]);
    expect((await alerter.list({ since: t0, drill: false })).map((a) => a.id)).toEqual([z.id, x.id]);
    expect((await alerter.list({ since: t0, limit: 1 })).map((a) => a.id)).toEqual([z.id]);
    expect(await alerter.list({ state: [] })).toEqual([]);
  });

  it('the alert, its deliveries and its audit record commit together, or none does', async () => {
    const { alerter, raised, clock } = await setup();
    const fault = await installAuditFailure(h);
    const f = finding({}, clock.now());
    await fault.arm('alert.raised');
    try {
      await expect(alerter.raise(f)).rejects.toThrow(/injected audit failure/);
    } finally {
      await fault.disarm();
    }
    const db = h.get().db;
    const rows = await db.selectFrom('alerts').select('id').where('group_key', '=', groupKeyOf(f)).execute();
    expect(rows).toHaveLength(0);
    expect(raised()).toHaveLength(0);
    const a = await alerter.raise(f);
    expect(a.count).toBe(1);
    const ds = await db.selectFrom('alert_deliveries').select('id').where('alert_id', '=', a.id).execute();
    expect(ds).toHaveLength(1);
  });

  it('findings of one new group raised at once make one alert that counts them all', async () => {
    const { alerter, deliveries, clock } = await setup();
    const subject = { kind: 'network' as const, id: `203.0.113.0/24-${Math.random()}` };
    const all = await Promise.all([1, 2, 3, 4].map(() => alerter.raise(finding({ subject }, clock.now()))));
    expect(new Set(all.map((a) => a.id)).size).toBe(1);
    const got = await alerter.get(all[0]!.id);
    expect(got?.count).toBe(4);
    expect(await deliveries(all[0]!.id)).toHaveLength(1);
  });

  it('bounds what a runaway rule stores, and refuses an unknown severity', async () => {
    const { alerter, clock } = await setup();
    const a = await alerter.raise(
      finding({ explanation: 'x'.repeat(5000), evidence: { big: 'y'.repeat(20_000) } }, clock.now()),
    );
    const got = await alerter.get(a.id);
    expect(got?.explanation).toHaveLength(2000);
    expect(got?.evidence).toEqual({ truncated: true, bytes: 20_010 });
    await expect(alerter.raise(finding({ severity: 'severe' as Severity }, clock.now()))).rejects.toMatchObject({
      code: 'bad_request',
    });
  });

  it('severities below every channel store the alert with no delivery', async () => {
    const { alerter, deliveries, clock } = await setup();
    const sev: Severity = 'low';
    const a = await alerter.raise(finding({ severity: sev }, clock.now()));
    expect(await deliveries(a.id)).toHaveLength(0);
    expect(await alerter.get(a.id)).toBeDefined();
  });
});

describe('groupKeyOf', () => {
  it('is rule and subject, and the drill when there is one', () => {
    const f = finding({ ruleId: 'r', subject: { kind: 'network', id: '203.0.113.0/24' } });
    expect(groupKeyOf(f)).toBe('r|network:203.0.113.0/24');
    expect(groupKeyOf({ ...f, drill: 'x' })).toBe('r|network:203.0.113.0/24|drill:x');
  });
});
