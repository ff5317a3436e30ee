import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AlertsSection } from '../../config/index.js';
import { FakeClock } from '../../core/index.js';
import {
  dir,
  finding,
  node,
  recordingLog,
  SECRET,
  webhookConf,
  webhookReceiver,
} from '../../test-support/alert-listeners.js';
import { backoffMs } from './delivery-worker.js';

describe('durable alert delivery (the queue, retries, restarts)', () => {
  const stops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
  });

  it('a listener that is down gets the alert after it comes back, across a restart of the worker, exactly once', async () => {
    const probe = await webhookReceiver();
    const p = probe.port;
    await probe.stop(); // the port is known and nobody listens
    const config = AlertsSection.parse({ channels: [webhookConf(p)], maxBackoffMinutes: 10 });
    const clock = new FakeClock(Date.UTC(2026, 4, 1));
    const dataDir = mkdtempSync(join(dir, 'restart-'));
    const log1 = recordingLog();
    const first = await node(dataDir, clock, config, log1);
    first.worker.start();
    const a = await first.alerter.raise(finding(clock));
    await first.worker.idle();
    let [row] = await first.deliveries();
    expect(row).toMatchObject({ state: 'pending', attempts: 1 });
    expect(row!.last_error).toMatch(/ECONNREFUSED/);
    expect(Number(row!.next_at) - clock.now()).toBe(backoffMs(1, 600_000, () => 0.5));
    expect(log1.lines.some((l) => l.level === 'warn' && JSON.stringify(l).includes(a.id))).toBe(true);
    expect(JSON.stringify(log1.lines)).not.toContain(SECRET);
    // the second try fails too (backoff doubles), then the process stops
    clock.advance(Number(row!.next_at) - clock.now());
    await first.worker.idle();
    [row] = await first.deliveries();
    expect(row).toMatchObject({ state: 'pending', attempts: 2 });
    await first.shutdown();

    const hook = await webhookReceiver(p);
    stops.push(hook.stop);
    const second = await node(dataDir, clock, config);
    stops.push(() => second.shutdown());
    second.worker.start();
    await second.worker.idle();
    expect(hook.got).toHaveLength(0); // not due yet: the backoff survives the restart
    clock.advance(backoffMs(2, 600_000, () => 0.5));
    await second.worker.idle();
    [row] = await second.deliveries();
    expect(row).toMatchObject({ state: 'delivered', attempts: 3, last_error: null });
    expect(hook.got).toHaveLength(1);
    expect(hook.got[0]!.valid).toBe(true);
    expect((JSON.parse(hook.got[0]!.body) as { alert: { id: string } }).alert.id).toBe(a.id);
    clock.advance(3_600_000);
    await second.worker.idle();
    expect(hook.got).toHaveLength(1);
  });

  it('rows pending at stop are sent after the next start', async () => {
    const hook = await webhookReceiver();
    stops.push(hook.stop);
    const config = AlertsSection.parse({ channels: [webhookConf(hook.port)] });
    const clock = new FakeClock(Date.UTC(2026, 4, 2));
    const dataDir = mkdtempSync(join(dir, 'stopped-'));
    const first = await node(dataDir, clock, config);
    // never started: the alert and its delivery are committed, nothing is sent
    const a = await first.alerter.raise(finding(clock));
    await first.shutdown();
    expect(hook.got).toHaveLength(0);
    const second = await node(dataDir, clock, config);
    stops.push(() => second.shutdown());
    second.worker.start();
    await second.worker.idle();
    expect(hook.got.map((g) => (JSON.parse(g.body) as { alert: { id: string } }).alert.id)).toEqual([a.id]);
  });

  it('gives up after maxAgeHours: state dead and an error log line', async () => {
    const probe = await webhookReceiver();
    await probe.stop();
    const config = AlertsSection.parse({ channels: [webhookConf(probe.port)], maxAgeHours: 1, maxBackoffMinutes: 20 });
    const clock = new FakeClock(Date.UTC(2026, 4, 3));
    const log = recordingLog();
    const n = await node(mkdtempSync(join(dir, 'dead-')), clock, config, log);
    stops.push(() => n.shutdown());
    n.worker.start();
    await n.alerter.raise(finding(clock));
    await n.worker.idle();
    for (let i = 0; i < 12; i++) {
      clock.advance(10 * 60_000);
      await n.worker.idle();
    }
    const [row] = await n.deliveries();
    expect(row!.state).toBe('dead');
    expect(Number(row!.attempts)).toBeGreaterThan(2);
    const dead = log.lines.filter((l) => l.level === 'error');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.msg).toMatch(/given up/);
    const attempts = Number(row!.attempts);
    clock.advance(3_600_000);
    await n.worker.idle();
    expect(Number((await n.deliveries())[0]!.attempts)).toBe(attempts);
  });

  it('two workers over one database send a delivery once', async () => {
    const hook = await webhookReceiver();
    stops.push(hook.stop);
    const config = AlertsSection.parse({ channels: [webhookConf(hook.port)] });
    const clock = new FakeClock(Date.UTC(2026, 4, 6));
    const dataDir = mkdtempSync(join(dir, 'two-'));
    const a = await node(dataDir, clock, config);
    const b = await node(dataDir, clock, config);
    stops.push(
      () => a.shutdown(),
      () => b.shutdown(),
    );
    for (let i = 0; i < 5; i++) await a.alerter.raise(finding(clock));
    const [x, y] = await Promise.all([a.worker.runOnce(), b.worker.runOnce()]);
    expect(x + y).toBeGreaterThanOrEqual(5);
    expect(hook.got).toHaveLength(5);
    expect(new Set(hook.got.map((g) => (JSON.parse(g.body) as { alert: { id: string } }).alert.id)).size).toBe(5);
    expect((await a.deliveries()).every((r) => r.state === 'delivered' && Number(r.attempts) === 1)).toBe(true);
  });
});

describe('backoffMs', () => {
  it('doubles from 5 s, stays within [half, all] of it, and is capped', () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(a, 600_000, () => 0))).toEqual([2500, 5000, 10_000, 20_000]);
    expect([1, 2, 3].map((a) => backoffMs(a, 600_000, () => 0.999999))).toEqual([5000, 10_000, 20_000]);
    expect(backoffMs(40, 600_000, () => 1)).toBe(600_000);
    expect(backoffMs(40, 600_000, () => 0)).toBe(300_000);
  });
});
