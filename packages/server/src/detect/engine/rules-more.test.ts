import { describe, expect, it } from 'vitest';
import { engineFixture, ev, sig } from '../../test-support/detect.js';
import type { DetectInput, Finding } from '../index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MONDAY = Date.UTC(2026, 0, 5);
const ATTACKER = '203.0.113.9';
type Feed = (i: DetectInput) => Finding[];
const of = (fs: Finding[], rule: string) => fs.filter((f) => f.ruleId === rule);

/** Weeks of office-hours activity for a team: connections and reads, weekdays 09-17. */
function trainOrg(feed: Feed, users: number, weeks: number): number {
  for (let d = 0; d < weeks * 7; d++) {
    if (d % 7 >= 5) continue;
    for (let h = 9; h < 17; h++)
      for (let u = 0; u < users; u++) {
        const at = MONDAY + d * DAY + h * HOUR + u * 1000;
        feed(
          sig({
            kind: 'connection.opened',
            at,
            userId: `u${u}`,
            deviceId: `d${u}`,
            sessionId: `s${u}-${d}`,
            address: '198.51.100.7',
          }),
        );
      }
  }
  return MONDAY + weeks * 7 * DAY;
}

/** A bot used every hour, around the clock, from one network, reading ~100 messages an hour. */
function trainBot(feed: Feed, weeks: number): number {
  for (let h = 0; h < weeks * 7 * 24; h++) {
    const at = MONDAY + h * HOUR + 60_000;
    feed(ev('service_token.used', at, { actorId: 'bot', target: 'tok', address: '192.0.2.5' }));
    feed(
      sig({
        kind: 'history.read',
        at: at + 1000,
        userId: 'bot',
        deviceId: 'bd',
        conversationId: 'c',
        count: 90 + (h % 20),
        service: true,
        address: '192.0.2.5',
      }),
    );
  }
  return MONDAY + weeks * 7 * DAY;
}

describe('session, privilege, service and organisation rules', () => {
  it('a device proof failure, or a service token refused for its device: device mismatch', async () => {
    const { feed, findings } = await engineFixture();
    feed(
      ev('connect.device_proof_failed', MONDAY + 9 * HOUR, { actorId: 'alice', target: 'sess1', address: ATTACKER }),
    );
    feed(
      ev('service_token.refused', MONDAY + 9 * HOUR + 5, {
        actorId: 'bot',
        target: 'tok',
        details: { reason: 'device_mismatch' },
      }),
    );
    feed(
      ev('service_token.refused', MONDAY + 9 * HOUR + 9, {
        actorId: 'bot2',
        target: 'tok2',
        details: { reason: 'expired' },
      }),
    );
    const f = of(findings, 'session.device_mismatch');
    expect(f.map((x) => x.subject)).toEqual([
      { kind: 'account', id: 'alice' },
      { kind: 'service_account', id: 'bot' },
    ]);
    expect(f[0]?.evidence.seqs).toHaveLength(1);
  });

  it('a connection on a session from a device other than the one it was opened on: device mismatch', async () => {
    const { feed, findings } = await engineFixture();
    const at = MONDAY + 9 * HOUR;
    feed(ev('login.succeeded', at, { actorId: 'dan', target: 'S9', details: { deviceId: 'laptop' } }));
    const conn = (deviceId: string, dt: number) =>
      feed(
        sig({ kind: 'connection.opened', at: at + dt, userId: 'dan', deviceId, sessionId: 'S9', address: ATTACKER }),
      );
    conn('laptop', 1000);
    feed(sig({ kind: 'connection.opened', at: at + 1500, userId: 'erin', deviceId: 'x', sessionId: 'never-seen' }));
    expect(findings).toEqual([]);
    conn('stolen', 2000);
    const f = of(findings, 'session.device_mismatch');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ subject: { kind: 'account', id: 'dan' }, address: ATTACKER, firstSeenAt: at + 2000 });
  });

  it('one session from three networks within minutes: token replay', async () => {
    const { feed, findings } = await engineFixture();
    const nets = ['198.51.100.7', '100.70.1.2', '203.0.113.50'];
    nets.forEach((address, i) =>
      feed(
        sig({
          kind: 'connection.opened',
          at: MONDAY + 9 * HOUR + i * 30_000,
          userId: 'carol',
          deviceId: 'cd',
          sessionId: 'S1',
          address,
        }),
      ),
    );
    const f = of(findings, 'session.token_replay');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ subject: { kind: 'session', id: 'S1' }, userId: 'carol' });
    expect(f[0]?.evidence.variant).toBe('networks');
  });

  it('a burst of refusals and role requests: privilege escalation attempts', async () => {
    const { feed, findings } = await engineFixture();
    for (let i = 0; i < 10; i++)
      feed(
        ev('authz.refused', MONDAY + 9 * HOUR + i * 1000, {
          actorId: 'mallory',
          details: { code: 'forbidden', operation: 'POST /admin/roles' },
        }),
      );
    // Refusals past the audit log's per-principal budget arrive as signals, one by one.
    for (let i = 0; i < 3; i++)
      feed({
        kind: 'signal',
        signal: { kind: 'rate_limited', at: MONDAY + 9 * HOUR + 11_000 + i, limit: 'authz.refused', userId: 'mallory' },
      });
    expect(of(findings, 'privilege.escalation_attempts')).toEqual([]);
    feed(
      ev('elevation.requested', MONDAY + 9 * HOUR + 20_000, {
        actorId: 'mallory',
        target: 'e1',
        details: { role: 'admin' },
      }),
    );
    feed(ev('approval.requested', MONDAY + 9 * HOUR + 21_000, { actorId: 'mallory', target: 'a1' }));
    const f = of(findings, 'privilege.escalation_attempts');
    expect(f).toHaveLength(1);
    expect(f[0]?.evidence.count).toBe(15);
  });

  it('a role granted at 02:00 on a Sunday in an organisation that works weekdays: off-hours grant', async () => {
    const { feed, findings } = await engineFixture({}, MONDAY);
    const after = trainOrg(feed, 5, 3);
    feed(ev('role.granted', after + 11 * HOUR, { actorId: 'admin', target: 'x/moderator' })); // Monday 11:00
    expect(of(findings, 'privilege.offhours_grant')).toEqual([]);
    feed(ev('role.granted', after + 6 * DAY + 2 * HOUR, { actorId: 'admin', target: 'x/admin' })); // Sunday 02:00
    const f = of(findings, 'privilege.offhours_grant');
    expect(f).toHaveLength(1);
    expect(f[0]?.explanation).toMatch(
      /^granted at Sun 02:00 UTC; the organisation's activity at this hour of the week is 0\.0 %/,
    );
  });

  it('service account: repeated refusals, a volume far above its baseline, a new network', async () => {
    const { feed, findings } = await engineFixture({}, MONDAY);
    const after = trainBot(feed, 3);
    expect(findings).toEqual([]);
    for (let i = 0; i < 10; i++)
      feed(
        ev('authz.refused', after + i * 1000, {
          actorId: 'bot',
          details: { code: 'scope', operation: 'DELETE /users/:id' },
        }),
      );
    expect(of(findings, 'service_account.misuse').map((f) => f.evidence.variant)).toEqual(['refusals']);
    expect(of(findings, 'privilege.escalation_attempts')).toEqual([]);
    const { feed: feed2, findings: f2 } = await engineFixture({}, MONDAY);
    const after2 = trainBot(feed2, 3);
    for (let i = 0; i < 50; i++)
      feed2(
        sig({
          kind: 'history.read',
          at: after2 + 10 * 60_000 + i * 100,
          userId: 'bot',
          deviceId: 'bd',
          conversationId: `c${i}`,
          count: 100,
          service: true,
        }),
      );
    feed2(ev('service_token.used', after2 + 20 * 60_000, { actorId: 'bot', target: 'tok', address: ATTACKER }));
    const m = of(f2, 'service_account.misuse');
    expect(m.map((f) => f.evidence.variant)).toEqual(['volume']);
    expect(m[0]?.subject).toEqual({ kind: 'service_account', id: 'bot' });
    expect(m[0]?.explanation).toMatch(/^read 1,000 messages in the hour to 00:10; usual is under 1\d\d an hour$/);
    // The new network: a separate subject key would be de-duplicated, so it has its own engine.
    const { feed: feed3, findings: f3 } = await engineFixture({}, MONDAY);
    const after3 = trainBot(feed3, 3);
    feed3(ev('service_token.used', after3 + 60_000, { actorId: 'bot', target: 'tok', address: ATTACKER }));
    expect(of(f3, 'service_account.misuse').map((f) => f.evidence.variant)).toEqual(['network']);
  });

  it('ten conversations deleted in a minute: mass deletion', async () => {
    const { feed, findings } = await engineFixture();
    for (let i = 0; i < 12; i++)
      feed(ev('conversation.deleted', MONDAY + 9 * HOUR + i * 5000, { actorId: 'rogue', target: `c${i}` }));
    const f = of(findings, 'org.mass_deletion');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ subject: { kind: 'account', id: 'rogue' }, userId: 'rogue', severity: 'critical' });
  });

  it('one account removed from 15 conversations: mass membership change; a big new conversation is not', async () => {
    const { feed, findings } = await engineFixture();
    for (let i = 0; i < 300; i++)
      feed(ev('member.added', MONDAY + 9 * HOUR + i, { actorId: 'admin', target: `allhands/u${i}` }));
    expect(findings).toEqual([]);
    for (let i = 0; i < 15; i++)
      feed(ev('member.removed', MONDAY + 10 * HOUR + i * 1000, { actorId: 'rogue', target: `c${i}/victim` }));
    expect(of(findings, 'org.mass_membership_change')).toHaveLength(1);
  });

  it('connections far above the usual for the hour: connection spike', async () => {
    const { feed, findings } = await engineFixture({}, MONDAY);
    const after = trainOrg(feed, 20, 3);
    expect(findings).toEqual([]);
    for (let i = 0; i < 400; i++)
      feed(
        sig({
          kind: 'connection.opened',
          at: after + 14 * HOUR + i * 1000,
          userId: `x${i}`,
          deviceId: `xd${i}`,
          sessionId: `xs${i}`,
          address: ATTACKER,
        }),
      );
    const f = of(findings, 'org.connection_spike');
    expect(f).toHaveLength(1);
    expect(f[0]?.subject).toEqual({ kind: 'organisation', id: 'org' });
    expect(f[0]?.explanation).toMatch(/^\d+ connections since 14:00; usual for this hour is about 20$/);
  });

  it('twenty new devices in an hour: new device spike', async () => {
    const { feed, findings } = await engineFixture();
    for (let i = 0; i < 19; i++)
      feed(ev('device.added', MONDAY + 9 * HOUR + i * 60_000, { actorId: `u${i}`, target: `d${i}` }));
    expect(findings).toEqual([]);
    feed(ev('device.added', MONDAY + 9 * HOUR + 19 * 60_000, { actorId: 'u19', target: 'd19' }));
    expect(of(findings, 'org.new_device_spike')).toHaveLength(1);
  });
});

describe('engine behaviour', () => {
  const guess = (at: number, drill?: string) =>
    ev('login.failed', at, {
      actorId: 'alice',
      address: ATTACKER,
      details: { step: 'password' },
      ...(drill ? { drill } : {}),
    });

  it('one finding per rule and subject per cool-down; another after it', async () => {
    const { feed, findings } = await engineFixture();
    for (let i = 0; i < 100; i++) feed(guess(MONDAY + i * 1000));
    expect(of(findings, 'auth.brute_force.account')).toHaveLength(1);
    for (let i = 0; i < 25; i++) feed(guess(MONDAY + 2 * HOUR + i * 1000));
    expect(of(findings, 'auth.brute_force.account')).toHaveLength(2);
  });

  it('labels drill findings; mixed traffic is not a drill', async () => {
    const { feed, findings } = await engineFixture();
    for (let i = 0; i < 20; i++) feed(guess(MONDAY + i * 1000, 'drill-1'));
    expect(of(findings, 'auth.brute_force.account')[0]?.drill).toBe('drill-1');
    for (let i = 0; i < 19; i++) feed(guess(MONDAY + 2 * HOUR + i * 1000, 'drill-2'));
    feed(guess(MONDAY + 2 * HOUR + 30_000));
    const f = of(findings, 'auth.brute_force.account');
    expect(f).toHaveLength(2);
    expect(f[1]?.drill).toBeUndefined();
  });

  it('never counts detection records', async () => {
    const { feed, findings } = await engineFixture();
    for (let i = 0; i < 50; i++) {
      const e = guess(MONDAY + i * 1000);
      if (e.kind === 'event') e.event.category = 'detection';
      feed(e);
      feed(ev('containment.applied', MONDAY + i * 1000, { actorId: 'alice', address: ATTACKER }));
    }
    expect(findings).toEqual([]);
  });

  it('applies configured overrides: threshold, severity, disabled rules', async () => {
    const { feed, findings, engine } = await engineFixture({
      rules: {
        'auth.brute_force.account': { threshold: 5, severity: 'critical' },
        'auth.brute_force.address': { enabled: false },
      },
    });
    expect(engine.activeRules().some((r) => r.id === 'auth.brute_force.address')).toBe(false);
    for (let i = 0; i < 60; i++) feed(guess(MONDAY + i * 100));
    expect(findings.map((f) => [f.ruleId, f.severity, f.evidence.count])).toEqual([
      ['auth.brute_force.account', 'critical', 5],
    ]);
  });

  it('a window forgets what left it', async () => {
    const { feed, findings } = await engineFixture();
    for (let i = 0; i < 100; i++) feed(guess(MONDAY + i * 60_000)); // one a minute: at most 10 in 10 minutes
    expect(of(findings, 'auth.brute_force.account')).toEqual([]);
  });
});

describe('robustness', () => {
  it('a fault in one input is logged and skipped, never thrown', async () => {
    const { engine } = await engineFixture();
    const bad = { kind: 'event', event: { seq: 1, at: MONDAY, action: 'login.failed', category: 'authentication' } };
    expect(engine.ingest(bad as unknown as DetectInput)).toEqual([]);
    expect(engine.ingest(ev('device.added', MONDAY, { actorId: 'a', target: 'd' }))).toEqual([]);
  });
});
