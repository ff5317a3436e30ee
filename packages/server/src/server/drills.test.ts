import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/index.js';
import type { Alert, Containment, Finding } from '../detect/index.js';
import { handleDrillAdmin, type DrillAdminDeps } from './admin-drills.js';
import { DrillRegistry, MAX_LIVE_DRILLS, type SecurityFilter, type SecurityQueries } from './drills.js';
import { durations, responseTimesByRule, securityStatus, STATUS_WINDOW_MS } from './security-status.js';

const T0 = Date.UTC(2026, 5, 1, 12);

describe('DrillRegistry', () => {
  it('hands out a random token once and knows it until finished or expired', () => {
    const clock = new FakeClock(T0);
    const r = new DrillRegistry(clock);
    const a = r.create({ scenario: 'brute-force', ttlMs: 120_000 });
    const b = r.create({ scenario: 'all', ttlMs: 60_000 });
    expect(a.token).not.toBe(b.token);
    expect(a.token.length).toBeGreaterThanOrEqual(40);
    expect(a.expiresAt).toBe(T0 + 120_000);
    expect(r.check(a.token)).toBe(a.id);
    expect(r.check(b.token)).toBe(b.id);
    expect(r.check(a.token.slice(0, -1))).toBeUndefined();
    expect(r.check('')).toBeUndefined();
    expect(r.check(a.id)).toBeUndefined();
    expect(JSON.stringify(r.get(a.id))).not.toContain(a.token);
    clock.advance(60_000);
    expect(r.check(b.token)).toBeUndefined();
    expect(r.check(a.token)).toBe(a.id);
    expect(r.finish(a.id)).toBe(true);
    expect(r.check(a.token)).toBeUndefined();
    expect(r.get(a.id)?.finishedAt).toBe(T0 + 60_000);
    expect(r.finish('drill_nope')).toBe(false);
  });

  it('refuses unknown scenarios, silly lifetimes and too many live drills', () => {
    const r = new DrillRegistry(new FakeClock(T0));
    expect(() => r.create({ scenario: 'nope' as 'all', ttlMs: 60_000 })).toThrow(/scenario/);
    expect(() => r.create({ scenario: 'all', ttlMs: 1 })).toThrow(/ttlMs/);
    expect(() => r.create({ scenario: 'all', ttlMs: 1e12 })).toThrow(/ttlMs/);
    for (let i = 0; i < MAX_LIVE_DRILLS; i++) r.create({ scenario: 'all', ttlMs: 60_000 });
    expect(() => r.create({ scenario: 'all', ttlMs: 60_000 })).toThrow(/too many/);
  });
});

function finding(p: Partial<Finding> & { id: string; ruleId: string; at: number; firstSeenAt: number }): Finding {
  return { severity: 'high', subject: { kind: 'address', id: '203.0.113.7' }, explanation: 'x', evidence: {}, ...p };
}
function containment(
  p: Partial<Containment> & { id: string; findingId: string; appliedAt: number | null },
): Containment {
  return {
    action: 'block_address',
    subject: { kind: 'address', id: '203.0.113.7' },
    state: 'active',
    createdAt: p.appliedAt ?? T0,
    expiresAt: null,
    undoneAt: null,
    undoneBy: null,
    ...p,
  };
}

describe('MTTD and MTTR per rule', () => {
  it('durations: count, mean, median, p95, max', () => {
    expect(durations([])).toBeNull();
    expect(durations([4000, 1000, 3000, 2000])).toEqual({
      count: 4,
      meanMs: 2500,
      medianMs: 2500,
      p95Ms: 4000,
      maxMs: 4000,
    });
    expect(durations([-5, 10, 20])).toMatchObject({ medianMs: 10, meanMs: 10 });
  });

  it('per rule, over the window, drills left out; MTTR from the first applied containment', () => {
    const findings = [
      finding({ id: 'f1', ruleId: 'brute_force.address', at: T0 + 2000, firstSeenAt: T0 }),
      finding({ id: 'f2', ruleId: 'brute_force.address', at: T0 + 4000, firstSeenAt: T0 }),
      finding({ id: 'f3', ruleId: 'spraying', at: T0 + 1000, firstSeenAt: T0 }),
      finding({ id: 'old', ruleId: 'spraying', at: T0 - STATUS_WINDOW_MS - 1, firstSeenAt: T0 - STATUS_WINDOW_MS - 9 }),
      finding({ id: 'drill', ruleId: 'spraying', at: T0 + 99_000, firstSeenAt: T0, drill: 'drill_x' }),
    ];
    const containments = [
      containment({ id: 'c1', findingId: 'f1', appliedAt: T0 + 2500 }),
      containment({ id: 'c1b', findingId: 'f1', appliedAt: T0 + 2200, state: 'undone' }),
      containment({ id: 'c2', findingId: 'f2', appliedAt: null, state: 'pending_approval' }),
      containment({ id: 'cd', findingId: 'drill', appliedAt: T0 + 100_000 }),
    ];
    const rows = responseTimesByRule(findings, containments, { since: T0 - STATUS_WINDOW_MS });
    expect(rows.map((r) => r.ruleId)).toEqual(['brute_force.address', 'spraying']);
    expect(rows[0]).toMatchObject({
      findings: 2,
      contained: 1,
      mttd: { count: 2, meanMs: 3000 },
      mttr: { count: 1, medianMs: 2200 },
    });
    expect(rows[1]).toMatchObject({ findings: 1, contained: 0, mttd: { medianMs: 1000 }, mttr: null });
    const withDrills = responseTimesByRule(findings, containments, {
      since: T0 - STATUS_WINDOW_MS,
      includeDrills: true,
    });
    expect(withDrills[1]).toMatchObject({ findings: 2, contained: 1, mttr: { maxMs: 100_000 } });
  });
});

/** The in-memory fake of the port (tests only), filtering as the real one must. */
class FakeQueries implements SecurityQueries {
  findingsList: Finding[] = [];
  containmentList: Containment[] = [];
  alertList: Alert[] = [];
  undone: [string, string][] = [];
  seeded: string[] = [];
  private pick<T extends { drill?: string }>(xs: T[], f: SecurityFilter, at: (x: T) => number): T[] {
    return xs.filter(
      (x) => (f.drill === undefined || x.drill === f.drill) && (f.since === undefined || at(x) >= f.since),
    );
  }
  findings = (f: SecurityFilter) => Promise.resolve(this.pick(this.findingsList, f, (x) => x.at));
  containments = (f: SecurityFilter) => Promise.resolve(this.pick(this.containmentList, f, (x) => x.createdAt));
  alerts = (f: SecurityFilter) => Promise.resolve(this.pick(this.alertList, f, (x) => x.lastAt));
  undoDrill = (id: string, actor: string) => Promise.resolve((this.undone.push([id, actor]), 2));
  chainState = () => Promise.resolve({ ok: true, records: 42, lastCheckpointAt: T0 - 1000 });
  seedBaseline = (userId: string) => Promise.resolve(void this.seeded.push(userId));
  decided: [string, string, string][] = [];
  decideContainment = (id: string, decision: 'undo' | 'approve', actor: string) => {
    this.decided.push([id, decision, actor]);
    return Promise.resolve({ id, state: decision === 'undo' ? 'undone' : 'active' } as Containment);
  };
}

function alert(p: Partial<Alert> & { id: string; state: Alert['state'] }): Alert {
  return {
    groupKey: 'g',
    ruleId: 'brute_force.address',
    severity: 'high',
    title: 't',
    explanation: 'e',
    firstAt: T0,
    lastAt: T0 + 1,
    count: 1,
    acknowledgedBy: null,
    acknowledgedAt: null,
    resolvedBy: null,
    resolvedAt: null,
    ...p,
  };
}

describe('securityStatus', () => {
  it('open alerts, recent findings, rules, containments in force, chain', async () => {
    const q = new FakeQueries();
    q.alertList = [
      alert({ id: 'a1', state: 'open' }),
      alert({ id: 'a2', state: 'resolved' }),
      alert({ id: 'a3', state: 'acknowledged' }),
    ];
    q.findingsList = [
      finding({ id: 'f1', ruleId: 'r', at: T0 - 1000, firstSeenAt: T0 - 3000 }),
      finding({ id: 'f2', ruleId: 'r', at: T0 - 2 * 86_400_000, firstSeenAt: T0 - 2 * 86_400_000 }),
    ];
    q.containmentList = [
      containment({ id: 'c1', findingId: 'f1', appliedAt: T0 - 500 }),
      containment({ id: 'c2', findingId: 'f1', appliedAt: T0 - 500, expiresAt: T0 - 1 }),
      containment({ id: 'c3', findingId: 'f1', appliedAt: T0 - 500, state: 'undone' }),
    ];
    const s = await securityStatus(q, T0);
    expect(s.openAlerts.map((a) => a.id).sort()).toEqual(['a1', 'a3']);
    expect(s.recentFindings.map((f) => f.id)).toEqual(['f1']);
    expect(s.rules).toEqual([expect.objectContaining({ ruleId: 'r', findings: 2, contained: 1 })]);
    expect(s.rules[0]?.mttr?.medianMs).toBe(2500);
    expect(s.containmentsInForce.map((c) => c.id)).toEqual(['c1']);
    expect(s.chain).toEqual({ ok: true, records: 42, lastCheckpointAt: T0 - 1000 });
  });
});

function fakeReq(method: string, body?: unknown): IncomingMessage {
  const s = new PassThrough();
  s.end(body === undefined ? '' : JSON.stringify(body));
  return Object.assign(s, { method }) as unknown as IncomingMessage;
}

async function call(deps: DrillAdminDeps, method: string, url: string, body?: unknown) {
  let out: { status: number; body: unknown } | undefined;
  const handled = await handleDrillAdmin(deps, fakeReq(method, body), url, (status, b) => (out = { status, body: b }));
  return { handled, ...(out ?? { status: 0, body: undefined }) };
}

describe('admin socket drill endpoints', () => {
  it('create, evidence through the port, seed, undo, finish, status', async () => {
    const clock = new FakeClock(T0);
    const q = new FakeQueries();
    const deps: DrillAdminDeps = { drills: new DrillRegistry(clock), security: q };
    const created = await call(deps, 'POST', '/drills', { scenario: 'spraying' });
    expect(created.status).toBe(201);
    const { id, token } = created.body as { id: string; token: string };
    expect(deps.drills.check(token)).toBe(id);
    q.findingsList = [
      finding({ id: 'f1', ruleId: 'spraying', at: T0 + 10, firstSeenAt: T0, drill: id }),
      finding({ id: 'f2', ruleId: 'spraying', at: T0 + 10, firstSeenAt: T0 }),
    ];
    const ev = await call(deps, 'GET', `/drills/${id}/evidence`);
    expect(ev.status).toBe(200);
    expect((ev.body as { findings: Finding[] }).findings.map((f) => f.id)).toEqual(['f1']);
    expect(JSON.stringify(ev.body)).not.toContain(token);
    expect((await call(deps, 'POST', `/drills/${id}/seed-baseline`, { userId: 'u1' })).status).toBe(200);
    expect(q.seeded).toEqual(['u1']);
    expect((await call(deps, 'POST', `/drills/${id}/undo`)).body).toEqual({ undone: 2 });
    expect(q.undone).toEqual([[id, 'admin-socket']]);
    expect((await call(deps, 'POST', `/drills/${id}/finish`)).status).toBe(200);
    expect(deps.drills.check(token)).toBeUndefined();
    expect((await call(deps, 'GET', '/security/status')).status).toBe(200);
    // The operator lifts or approves one containment by id (palisade security undo|approve).
    expect((await call(deps, 'POST', '/security/containments/c_1/undo')).body).toEqual({ id: 'c_1', state: 'undone' });
    expect((await call(deps, 'POST', '/security/containments/c_2/approve')).status).toBe(200);
    expect((await call(deps, 'POST', '/security/containments/c_3/delete')).handled).toBe(false);
    expect(q.decided).toEqual([
      ['c_1', 'undo', 'admin-socket'],
      ['c_2', 'approve', 'admin-socket'],
    ]);
  });

  it('bad input is refused; unknown urls are left to the caller; no port: unavailable', async () => {
    const deps: DrillAdminDeps = { drills: new DrillRegistry(new FakeClock(T0)) };
    await expect(call(deps, 'POST', '/drills', { scenario: 'nope' })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(call(deps, 'POST', '/drills', { scenario: 'all', ttlMs: '1' })).rejects.toMatchObject({
      code: 'bad_request',
    });
    await expect(call(deps, 'GET', `/drills/drill_${'0'.repeat(32)}/evidence`)).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await call(deps, 'GET', '/status')).handled).toBe(false);
    const { id } = (await call(deps, 'POST', '/drills', { scenario: 'all' })).body as { id: string };
    await expect(call(deps, 'GET', `/drills/${id}/evidence`)).rejects.toMatchObject({ code: 'unavailable' });
    await expect(call(deps, 'GET', '/security/status')).rejects.toMatchObject({ code: 'unavailable' });
    await expect(call(deps, 'POST', `/drills/${id}/disable-account`, { username: 'alice' })).rejects.toMatchObject({
      code: 'bad_request',
    });
  });
});
