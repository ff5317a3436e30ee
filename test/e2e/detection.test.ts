/**
 * Detection through a real `palisade serve` process and its security console: a member who keeps
 * trying admin operations is found within 5 s and contained (step-up, a lock that waits for a
 * security admin); the console lists the finding, the alert and the containments.
 */
import { describe, expect, it } from 'vitest';
import type { PalisadeClient } from '@palisade/client';
import { useServerWithAdmin } from '../support/harness.js';
import { createUsers } from '../support/users.js';

type Rec = Record<string, unknown>;

describe('detection and the security console (real server)', () => {
  const env = useServerWithAdmin();

  it('a burst of refused admin calls: found within 5 s, contained within 1 s of the finding, alerted', async () => {
    const [mallory] = (await createUsers(env.server, env.admin, ['mallory'])) as [PalisadeClient];
    const me = async (c: PalisadeClient) => (await c.api.call<{ userId: string }>('GET', '/v1/me')).userId;
    const [malloryId, adminId] = [await me(mallory), await me(env.admin)];
    const started = Date.now();
    for (let i = 0; i < 20; i++) await mallory.api.call('GET', '/v1/admin/users').catch(() => undefined);
    const api = env.admin.api;
    const findings = async () =>
      (await api.call<{ findings: Rec[] }>('GET', '/v1/security/findings?rule=privilege.escalation_attempts')).findings;
    await expect.poll(async () => (await findings()).length, { timeout: 5_000, interval: 100 }).toBe(1);
    const [f] = await findings();
    expect(f).toMatchObject({ ruleId: 'privilege.escalation_attempts', userId: malloryId });
    expect(Number(f!.at) - started).toBeLessThan(5_000);
    expect(String(f!.explanation)).toMatch(/refus/i);

    const containments = async () =>
      (await api.call<{ containments: Rec[] }>('GET', '/v1/security/containments')).containments.filter(
        (c) => c.findingId === f!.id,
      );
    await expect.poll(async () => (await containments()).length, { timeout: 2_000, interval: 50 }).toBe(2);
    const cs = await containments();
    const stepUp = cs.find((c) => c.action === 'require_step_up')!;
    const lock = cs.find((c) => c.action === 'lock_account')!;
    expect(stepUp).toMatchObject({ state: 'active' });
    expect(Number(stepUp.appliedAt) - Number(f!.at)).toBeLessThanOrEqual(1_000);
    // The lock is destructive: it waits for a security admin.
    expect(lock).toMatchObject({ state: 'pending_approval', appliedAt: null });

    const alerts = (await api.call<{ alerts: Rec[] }>('GET', '/v1/security/alerts?state=open')).alerts;
    const alert = alerts.find((a) => a.ruleId === 'privilege.escalation_attempts')!;
    expect(alert).toMatchObject({ severity: 'high', count: 1 });
    const acked = await api.call<Rec>('POST', `/v1/security/alerts/${String(alert.id)}/acknowledge`);
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: adminId });

    // Nobody but a security admin reads the console.
    await expect(mallory.api.call('GET', '/v1/security/alerts')).rejects.toMatchObject({ code: 'forbidden' });
  });
});
