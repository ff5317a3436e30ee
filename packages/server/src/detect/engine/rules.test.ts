import { describe, expect, it } from 'vitest';
import { engineFixture, ev, sig } from '../../test-support/detect.js';
import type { DetectInput, Finding } from '../index.js';
import { ConfigSchema, DETECT_RULE_IDS, DetectSection } from '../../config/index.js';
import { RULE_IDS } from './rules.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Monday 2026-01-05 00:00 UTC. */
const MONDAY = Date.UTC(2026, 0, 5);
const ATTACKER = '203.0.113.9';

type Feed = (i: DetectInput) => Finding[];
const of = (fs: Finding[], rule: string) => fs.filter((f) => f.ruleId === rule);

/** Four weeks of office-hours activity (weekdays 09:00-17:00) for `users`, from `start`. */
function trainDaytime(feed: Feed, users: string[], weeks = 4, start = MONDAY, reads = 25): number {
  let t = start;
  for (let d = 0; d < weeks * 7; d++) {
    if (d % 7 < 5)
      for (let h = 9; h < 17; h++)
        for (const u of users) {
          t = start + d * DAY + h * HOUR + 60_000;
          feed(
            sig({
              kind: 'connection.opened',
              at: t,
              userId: u,
              deviceId: `${u}-d`,
              sessionId: `${u}-s`,
              address: '198.51.100.7',
            }),
          );
          feed(
            sig({
              kind: 'history.read',
              at: t + 1000,
              userId: u,
              deviceId: `${u}-d`,
              conversationId: 'c1',
              count: reads + (h % 3) * 5,
              address: '198.51.100.7',
            }),
          );
        }
  }
  return start + weeks * 7 * DAY;
}

describe('detection rules fire on scripted attacks', () => {
  it('has the agreed rule ids', () => {
    expect([...RULE_IDS].sort()).toEqual(
      [
        'auth.brute_force.account',
        'auth.brute_force.address',
        'auth.credential_stuffing',
        'auth.password_spraying',
        'data.offhours_bulk_read',
        'session.device_mismatch',
        'session.token_replay',
        'privilege.escalation_attempts',
        'privilege.offhours_grant',
        'service_account.misuse',
        'org.mass_deletion',
        'org.mass_membership_change',
        'org.connection_spike',
        'org.new_device_spike',
      ].sort(),
    );
  });

  it('300 wrong passwords from one address in a few seconds: brute force on the account and the address', async () => {
    const { feed, findings } = await engineFixture({}, MONDAY + 10 * HOUR);
    const t0 = MONDAY + 10 * HOUR;
    // The server throttles after ~10 failures: the rest show as throttled attempts (signals).
    for (let i = 0; i < 10; i++)
      feed(
        ev('login.failed', t0 + i * 10, {
          actorId: 'alice-id',
          address: ATTACKER,
          details: { step: 'password', username: 'alice' },
        }),
      );
    for (let i = 10; i < 300; i++)
      feed(sig({ kind: 'login.throttled', at: t0 + i * 10, username: 'alice', address: ATTACKER }));
    const acct = of(findings, 'auth.brute_force.account');
    expect(acct).toHaveLength(1);
    expect(acct[0]?.subject).toEqual({ kind: 'account', id: 'alice-id' });
    expect(acct[0]?.firstSeenAt).toBe(t0);
    expect(acct[0]?.at).toBe(t0 + 19 * 10);
    expect(acct[0]?.explanation).toMatch(/20 by alice-id in 0 s \(threshold 20 in 10 min\)/);
    expect((acct[0]?.evidence.seqs as number[]).length).toBe(10);
    const addr = of(findings, 'auth.brute_force.address');
    expect(addr).toHaveLength(1);
    expect(addr[0]?.subject).toEqual({ kind: 'address', id: ATTACKER });
  });

  it('rate-limited login attempts count for the account and the address', async () => {
    const { feed, findings } = await engineFixture();
    for (let i = 0; i < 60; i++)
      feed(
        sig({
          kind: 'rate_limited',
          at: MONDAY + 8 * HOUR + i * 100,
          limit: 'login.account',
          userId: 'zed',
          address: ATTACKER,
        }),
      );
    feed(
      sig({
        kind: 'rate_limited',
        at: MONDAY + 8 * HOUR + 7000,
        limit: 'message.send',
        userId: 'zed',
        address: ATTACKER,
      }),
    );
    expect(findings.map((f) => [f.ruleId, f.subject.id, f.evidence.count])).toEqual([
      ['auth.brute_force.account', 'zed', 20],
      ['auth.brute_force.address', ATTACKER, 50],
    ]);
  });

  it('throttled attempts on an unknown name still count (keyed by the name)', async () => {
    const { feed, findings } = await engineFixture();
    for (let i = 0; i < 25; i++)
      feed(sig({ kind: 'login.throttled', at: MONDAY + 8 * HOUR + i * 1000, username: 'Root', address: ATTACKER }));
    expect(of(findings, 'auth.brute_force.account')[0]?.subject).toEqual({ kind: 'account', id: 'name:root' });
    expect(of(findings, 'auth.brute_force.account')[0]?.userId).toBeUndefined();
  });

  it('50 accounts tried from one address: credential stuffing', async () => {
    const { feed, findings } = await engineFixture();
    const t0 = MONDAY + 12 * HOUR;
    for (let i = 0; i < 50; i++) {
      const at = t0 + i * 200;
      if (i === 7) feed(ev('login.succeeded', at, { actorId: `v${i}`, address: ATTACKER, target: 's' }));
      else feed(ev('login.failed', at, { actorId: `v${i}`, address: ATTACKER, details: { step: 'password' } }));
    }
    const f = of(findings, 'auth.credential_stuffing');
    expect(f).toHaveLength(1);
    expect(f[0]?.subject).toEqual({ kind: 'address', id: ATTACKER });
    expect(f[0]?.evidence.distinct).toBe(20);
    expect(f[0]?.explanation).toContain('20 distinct accounts');
  });

  it('failed logins on names that do not exist: each a distinct account for stuffing, no per-account window', async () => {
    const { feed, findings, engine } = await engineFixture();
    for (let i = 0; i < 30; i++)
      feed(ev('login.failed', MONDAY + 12 * HOUR + i * 100, { address: ATTACKER, details: { step: 'password' } }));
    expect(of(findings, 'auth.credential_stuffing')).toHaveLength(1);
    expect(of(findings, 'auth.brute_force.account')).toEqual([]);
    expect(engine.activeRules().length).toBeGreaterThan(14);
  });

  it('stuffing with a high success ratio (an office logging in) does not fire', async () => {
    const { feed, findings } = await engineFixture();
    for (let i = 0; i < 100; i++) {
      const at = MONDAY + 9 * HOUR + i * 3000;
      if (i % 3 === 0)
        feed(
          ev('login.failed', at, { actorId: `w${i}`, address: `198.51.100.${i % 8}`, details: { step: 'password' } }),
        );
      feed(ev('login.succeeded', at + 500, { actorId: `w${i}`, address: `198.51.100.${i % 8}`, target: `s${i}` }));
    }
    expect(findings).toEqual([]);
  });

  it('one guess across 40 accounts from a /24 over half an hour: password spraying', async () => {
    const { feed, findings } = await engineFixture();
    const t0 = MONDAY + 14 * HOUR;
    for (let i = 0; i < 40; i++)
      feed(
        ev('login.failed', t0 + i * 45_000, {
          actorId: `p${i}`,
          address: `203.0.113.${i % 5}`,
          details: { step: 'password' },
        }),
      );
    const f = of(findings, 'auth.password_spraying');
    expect(f).toHaveLength(1);
    expect(f[0]?.subject).toEqual({ kind: 'network', id: '203.0.113.0/24' });
    expect(f[0]?.explanation).toMatch(/30 distinct accounts tried at most 2 times each from 203\.0\.113\.0\/24/);
    expect(of(findings, 'auth.credential_stuffing')).toEqual([]); // slow: never 20 accounts in 10 minutes
  });

  it('4,812 messages read at 03:10 by a user whose 4-week baseline is daytime', async () => {
    const { feed, findings } = await engineFixture({}, MONDAY);
    const after = trainDaytime(feed, ['eve', 'bob']);
    expect(findings).toEqual([]);
    const t = after + 3 * HOUR + 10 * 60_000; // Monday 03:10
    let read = 0;
    for (let i = 0; read < 4812; i++) {
      const count = Math.min(100, 4812 - read);
      read += count;
      feed(
        sig({
          kind: 'history.read',
          at: t + i * 500,
          userId: 'eve',
          deviceId: 'eve-d',
          conversationId: `c${i}`,
          count,
          address: ATTACKER,
        }),
      );
    }
    const f = of(findings, 'data.offhours_bulk_read');
    expect(f).toHaveLength(1);
    expect(f[0]?.subject).toEqual({ kind: 'account', id: 'eve' });
    expect(f[0]?.firstSeenAt).toBe(t);
    expect(f[0]?.explanation).toMatch(
      /^read 500 messages at 03:1\d; usual is under \d+ an hour, never before 09:00; from 203\.0\.113\.0\/24, a network never seen for this user$/,
    );
    // The same reads in office hours are a catch-up, not an alarm.
    const { feed: feed2, findings: f2 } = await engineFixture({}, MONDAY);
    const after2 = trainDaytime(feed2, ['eve']);
    for (let i = 0; i < 48; i++)
      feed2(
        sig({
          kind: 'history.read',
          at: after2 + 10 * HOUR + i * 500,
          userId: 'eve',
          deviceId: 'd',
          conversationId: 'c',
          count: 100,
        }),
      );
    expect(of(f2, 'data.offhours_bulk_read')).toEqual([]);
  });

  it('does not fire during the learning period', async () => {
    const { feed, findings } = await engineFixture({}, MONDAY);
    const after = trainDaytime(feed, ['eve'], 1);
    for (let i = 0; i < 48; i++)
      feed(
        sig({
          kind: 'history.read',
          at: after + 3 * HOUR + i * 500,
          userId: 'eve',
          deviceId: 'd',
          conversationId: 'c',
          count: 100,
        }),
      );
    expect(findings).toEqual([]);
  });
});

describe('ingest cost', () => {
  it('measures the cost per input of an attack burst (printed, not asserted)', async () => {
    const { engine } = await engineFixture();
    const n = 100_000;
    const inputs = Array.from({ length: n }, (_, i) =>
      i % 2
        ? sig({
            kind: 'login.throttled',
            at: MONDAY + i * 5,
            username: `n${i % 5000}`,
            address: `203.0.113.${i % 250}`,
          })
        : ev('login.failed', MONDAY + i * 5, {
            actorId: `a${i % 5000}`,
            address: `198.51.${i % 200}.7`,
            details: { step: 'password' },
          }),
    );
    const t0 = process.hrtime.bigint();
    for (const x of inputs) engine.ingest(x);
    const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
    console.log(`ingest cost, attack burst of ${n.toLocaleString('en-US')} inputs: ${us.toFixed(2)} µs per input`);
    expect(us).toBeGreaterThan(0);
  });
});

describe('the detect configuration section', () => {
  it('lists the same rule ids as the engine and refuses unknown ones', () => {
    expect([...DETECT_RULE_IDS].sort()).toEqual([...RULE_IDS].sort());
    const parsed = DetectSection.parse({ rules: { 'auth.brute_force.account': { threshold: 5 } } });
    expect(parsed).toMatchObject({
      enabled: true,
      learningDays: 14,
      rules: { 'auth.brute_force.account': { threshold: 5 } },
    });
    expect(() => DetectSection.parse({ rules: { 'auth.brute_force.acount': { threshold: 5 } } })).toThrow();
    expect(() => DetectSection.parse({ rules: { 'org.mass_deletion': { windowSeconds: 0 } } })).toThrow();
    expect(ConfigSchema.parse({}).detect).toEqual(DetectSection.parse({}));
  });
});
