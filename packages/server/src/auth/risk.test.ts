import { describe, expect, it } from 'vitest';
import { totpAt } from '../crypto/index.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { testDeps } from '../test-support/deps.js';
import { loginAgain, makeUsers, newDevicePublicKey, PASS, uniqueName } from '../test-support/users.js';
import { auditRecords } from '../test-support/audit.js';
import { rejectionOf } from '../test-support/rejection.js';
import { recordAudit } from '../audit/index.js';
import {
  authenticateToken,
  completeMfaLogin,
  confirmTotp,
  decide,
  login,
  networkOf,
  regenerateRecoveryCodes,
  RISK_POLICY,
  startTotpEnrolment,
  stepUp,
} from './index.js';

describe('risk policy', () => {
  it('maps addresses to their /24 or /48 network', () => {
    expect(networkOf('203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:203.0.113.9')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
    // Spellings of one network are one network (the old split on ':' told them apart).
    expect(networkOf('2001:0DB8:ABCD:0012:0:0:0:1')).toBe('2001:db8:abcd::/48');
    expect(networkOf('2001:db8::1')).toBe(networkOf('2001:db8:0:ffff::2'));
  });
  it('decides from the weights and thresholds (policy as data)', () => {
    expect(decide([])).toEqual({ score: 0, decision: 'allow', reasons: [] });
    expect(decide(['new_device', 'new_network']).decision).toBe('step_up');
    expect(decide(['recent_failures', 'device_proof_failures', 'velocity']).decision).toBe('deny');
    expect(RISK_POLICY.thresholds.stepUp).toBeLessThan(RISK_POLICY.thresholds.deny);
  });
});

withAllStores('risk-based login and step-up', (h) => {
  it('records the score and reasons of each login, and refuses a high-risk one', async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('r')]);
    for (let i = 0; i < 3; i++) await loginAgain(deps.auth, u!, '10.20.30.40'); // history from one network
    const known = (
      await auditRecords(h.get().db, deps.auth.sealer, { actorId: u!.userId, action: 'login.risk_assessed' })
    ).at(-1)!;
    expect(known.details).toMatchObject({ decision: 'allow', reasons: [] });
    // Failures, then a new device from a new network, then failed device proofs: denied.
    for (let i = 0; i < 3; i++)
      await login(
        deps.auth,
        {
          username: u!.username,
          password: 'wrong wrong wrong wrong',
          device: { publicKey: newDevicePublicKey(), name: 'x', platform: 'x' },
        },
        '198.51.100.7',
      ).catch(() => undefined);
    await recordAudit(h.get().db, deps.auth.sealer, {
      at: deps.clock.now(),
      actorId: u!.userId,
      action: 'connect.device_proof_failed',
      address: '198.51.100.7',
      outcome: 'failure',
    });
    const denied = await rejectionOf(
      login(
        deps.auth,
        {
          username: u!.username,
          password: PASS,
          device: { publicKey: newDevicePublicKey(), name: 'x', platform: 'x' },
        },
        '198.51.100.7',
      ),
    );
    expect(denied).toMatchObject({
      code: 'risk_denied',
      details: {
        reasons: expect.arrayContaining(['new_device', 'new_network', 'recent_failures', 'device_proof_failures']),
      },
    });
    const row = (
      await auditRecords(h.get().db, deps.auth.sealer, { actorId: u!.userId, action: 'login.risk_assessed' })
    ).at(-1)!;
    expect(row.outcome).toBe('failure');
    expect((row.details as { score: number }).score).toBeGreaterThanOrEqual(RISK_POLICY.thresholds.deny);
  });

  it('asks for a new step-up when a session is used from another network', async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('n')]);
    const t = await startTotpEnrolment(deps.auth, u!);
    await confirmTotp(deps.auth, u!, t.id, totpAt({ base32: t.secret }, deps.clock.now()));
    deps.clock.advance(30_000);
    const first = await login(
      deps.auth,
      { username: u!.username, password: PASS, device: { publicKey: newDevicePublicKey(), name: 'y', platform: 'y' } },
      '10.5.5.5',
    );
    if (!('mfaRequired' in first)) throw new Error('expected MFA');
    const s = await completeMfaLogin(
      deps.auth,
      { challenge: first.challenge, code: totpAt({ base32: t.secret }, deps.clock.now()) },
      '10.5.5.5',
    );
    const home = (await authenticateToken(deps.auth, s.token, '10.5.5.9')).principal;
    expect(home.strongAuthAt).not.toBeNull();
    expect(new Set((await regenerateRecoveryCodes(deps.auth, home)).recoveryCodes).size).toBe(10);
    const away = (await authenticateToken(deps.auth, s.token, '192.0.2.44')).principal;
    expect(away.strongAuthAt).toBeNull();
    await expect(regenerateRecoveryCodes(deps.auth, away)).rejects.toMatchObject({ code: 'step_up_required' });
    deps.clock.advance(30_000);
    await stepUp(deps.auth, away, totpAt({ base32: t.secret }, deps.clock.now()), '192.0.2.44');
    const after = (await authenticateToken(deps.auth, s.token, '192.0.2.44')).principal;
    expect(new Set((await regenerateRecoveryCodes(deps.auth, after)).recoveryCodes).size).toBe(10);
  });
});
