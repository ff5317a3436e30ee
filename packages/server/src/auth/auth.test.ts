import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deviceProofMessage } from '@palisade/protocol';
import { withAllStores } from '../test-support/with-all-stores.js';
import { testDeps } from '../test-support/deps.js';
import {
  firstDeviceKeyOf,
  loginAgain,
  loginNewDevice,
  makeUsers,
  newDevicePublicKey,
  PASS,
  uniqueName,
} from '../test-support/users.js';
import { passwordGateStats } from '../crypto/index.js';
import { aadOf } from '../keys/index.js';
import { auditRecords } from '../test-support/audit.js';
import { rejectionOf } from '../test-support/rejection.js';
import type { AppError } from '../core/index.js';
import {
  approveDevice,
  authenticateToken,
  checkEnrolToken,
  createInvite,
  enrol,
  issueBootstrapToken,
  login,
  logout,
  releaseInvite,
  revokeSessions,
  SESSIONS_REVOKED,
  verifyDeviceProof,
} from './index.js';

const device = () => ({ publicKey: newDevicePublicKey(), name: 'laptop', platform: 'linux' });

withAllStores('auth', (h) => {
  it('v5.0.0-6.3.2 has no default account: the bootstrap token is single-use and only while no user exists', async () => {
    const deps = await testDeps(h.get());
    const boot = await issueBootstrapToken(deps.auth);
    expect(boot?.token.length).toBeGreaterThanOrEqual(43);
    const stored = await h.get().db.selectFrom('enrolment_tokens').select('token_hash').execute();
    expect(stored.map((r) => r.token_hash)).not.toContain(boot!.token);
    const results = await Promise.allSettled([
      enrol(deps.auth, { token: boot!.token, username: uniqueName('first'), password: PASS }, '1.1.1.1'),
      enrol(deps.auth, { token: boot!.token, username: uniqueName('second'), password: PASS }, '1.1.1.2'),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'token_invalid' } });
    expect(await issueBootstrapToken(deps.auth)).toBeUndefined();
  });

  it('refuses an expired invite', async () => {
    const deps = await testDeps(h.get());
    const inv = await createInvite(deps.auth, null, { role: 'member', ttlHours: 1 });
    deps.clock.advance(3_600_001);
    const keysBefore = (await h.get().db.selectFrom('data_keys').select('id').execute()).length;
    await expect(
      enrol(deps.auth, { token: inv.token, username: uniqueName('x'), password: PASS }, '198.51.100.23'),
    ).rejects.toMatchObject({ code: 'token_invalid' });
    // The failure is audited (committed, with its sealed address), and no data key was made for it.
    const failed = await auditRecords(h.get().db, deps.auth.sealer, { action: 'enrolment.failed' });
    expect(failed.some((r) => r.address === '198.51.100.23')).toBe(true);
    expect((await h.get().db.selectFrom('data_keys').select('id').execute()).length).toBe(keysBefore);
  });

  it('v5.0.0-6.3.8 login failure is the same for an unknown user and a wrong password', async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('l')]);
    const wrong = await rejectionOf(
      login(deps.auth, { username: u!.username, password: 'not the password at all', device: device() }, '2.2.2.2'),
    );
    const unknown = await rejectionOf(
      login(
        deps.auth,
        { username: uniqueName('nobody'), password: 'not the password at all', device: device() },
        '2.2.2.3',
      ),
    );
    expect(wrong).toMatchObject({ code: 'auth_failed' });
    expect(unknown).toMatchObject({ code: 'auth_failed', message: wrong.message });
    const audit = await h.get().db.selectFrom('audit_log').selectAll().where('action', '=', 'login.failed').execute();
    expect(audit.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(audit)).not.toContain('not the password at all');
  });

  it('a disabled account says account_disabled only after its right password (no account-state oracle)', async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('d')]);
    await h.get().db.updateTable('users').set({ disabled_at: deps.clock.now() }).where('id', '=', u!.userId).execute();
    const wrong = await rejectionOf(
      login(deps.auth, { username: u!.username, password: 'not the password at all', device: device() }, '2.2.3.2'),
    );
    const unknown = await rejectionOf(
      login(
        deps.auth,
        { username: uniqueName('nobody'), password: 'not the password at all', device: device() },
        '2.2.3.3',
      ),
    );
    expect(wrong).toMatchObject({ code: 'auth_failed', message: unknown.message });
    const right = await rejectionOf(
      login(deps.auth, { username: u!.username, password: PASS, device: device() }, '2.2.3.4'),
    );
    expect(right).toMatchObject({ code: 'account_disabled' });
    const audit = await auditRecords(h.get().db, deps.auth.sealer, { action: 'login.failed' });
    expect(audit.some((r) => r.actorId === u!.userId && r.details.step === 'account_disabled')).toBe(true);
  });

  it('v5.0.0-7.2.1 issues 256-bit tokens stored only as SHA-256, bound to one device', async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('t')]);
    const res = await loginAgain(deps.auth, u!);
    expect(Buffer.from(res.token, 'base64url')).toHaveLength(32);
    const rows = await h
      .get()
      .db.selectFrom('sessions')
      .select('token_hash')
      .where('user_id', '=', u!.userId)
      .execute();
    expect(rows.map((r) => r.token_hash)).not.toContain(res.token);
    const s = await authenticateToken(deps.auth, res.token);
    expect(s.principal.deviceId).toBe(res.deviceId);
  });

  it('holds a new device until a trusted device approves it, then recognises its key', async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('d')]);
    const d = device();
    const pending = await rejectionOf(
      login(deps.auth, { username: u!.username, password: PASS, device: d }, '4.4.4.4'),
    );
    expect(pending).toMatchObject({ code: 'device_approval_required', details: { deviceId: expect.any(String) } });
    await expect(
      login(deps.auth, { username: u!.username, password: PASS, device: d }, '4.4.4.4'),
    ).rejects.toMatchObject({ code: 'device_approval_required' });
    await approveDevice(deps.auth, u!, (pending.details as { deviceId: string }).deviceId);
    const a = (await login(deps.auth, { username: u!.username, password: PASS, device: d }, '4.4.4.4')) as {
      deviceId: string;
    };
    const b = (await login(deps.auth, { username: u!.username, password: PASS, device: d }, '4.4.4.5')) as {
      deviceId: string;
    };
    expect(a.deviceId).toBe((pending.details as { deviceId: string }).deviceId);
    expect(b.deviceId).toBe(a.deviceId);
    await expect(
      login(deps.auth, { username: u!.username, password: PASS, device: { ...d, publicKey: 'AAAA' } }, '4.4.4.4'),
    ).rejects.toMatchObject({ code: 'invalid_device_key' });
    const rows = await h
      .get()
      .db.selectFrom('devices')
      .select(['last_address'])
      .where('id', '=', a.deviceId)
      .executeTakeFirstOrThrow();
    // Kept sealed under the user's key: opens to the last address, never stored in clear.
    expect(rows.last_address).not.toContain('4.4.4');
    expect(await deps.auth.sealer.openText(rows.last_address!, aadOf('devices', 'last_address', a.deviceId))).toBe(
      '4.4.4.5',
    );
  });

  it('ends sessions at the absolute and idle timeouts (fake clock)', async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('s')]);
    const res = await loginAgain(deps.auth, u!);
    deps.clock.advance(59 * 60_000);
    await authenticateToken(deps.auth, res.token); // used: idle timer restarts
    deps.clock.advance(59 * 60_000);
    await expect(authenticateToken(deps.auth, res.token)).resolves.toMatchObject({ principal: { userId: u!.userId } });
    deps.clock.advance(61 * 60_000);
    await expect(authenticateToken(deps.auth, res.token)).rejects.toMatchObject({ code: 'session_invalid' });
    const res2 = await loginAgain(deps.auth, u!);
    for (let i = 0; i < 28; i++) {
      deps.clock.advance(50 * 60_000); // used every 50 minutes: never idle
      await authenticateToken(deps.auth, res2.token);
    }
    deps.clock.advance(40 * 60_000 - 1); // 23 h 59 min 59.999 s after login
    await expect(authenticateToken(deps.auth, res2.token)).resolves.toMatchObject({ principal: { userId: u!.userId } });
    deps.clock.advance(1);
    await expect(authenticateToken(deps.auth, res2.token)).rejects.toMatchObject({ code: 'session_invalid' });
  });

  it('v5.0.0-7.4.1 logout and admin revoke end sessions server-side and publish session.revoked', async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('r')]);
    const a = await loginAgain(deps.auth, u!);
    const b = await loginNewDevice(deps.auth, u!);
    await logout(deps.auth, (await authenticateToken(deps.auth, a.token)).principal, null);
    await expect(authenticateToken(deps.auth, a.token)).rejects.toMatchObject({ code: 'session_invalid' });
    await expect(authenticateToken(deps.auth, b.token)).resolves.toMatchObject({
      principal: { userId: u!.userId, deviceId: b.deviceId },
    });
    const n = await revokeSessions(deps.auth, null, { userId: u!.userId }, null);
    expect(n).toBeGreaterThanOrEqual(2);
    await expect(authenticateToken(deps.auth, b.token)).rejects.toMatchObject({ code: 'session_invalid' });
    expect(deps.events.filter((e) => e.type === SESSIONS_REVOKED)).toHaveLength(2);
  });

  it('S7: wrong passwords slow their own network down; the owner still gets in from a known device or another network', async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('rl')]);
    const attempt = (password: string, address: string, publicKey = newDevicePublicKey()) =>
      login(
        deps.auth,
        { username: u!.username, password, device: { publicKey, name: 'x', platform: 'x' } },
        address,
      ).then(
        () => 'ok',
        (e: AppError) => e.code as string,
      );
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) codes.push(await attempt('wrong password here', '203.0.113.5'));
    expect(codes).toEqual([...Array<string>(5).fill('auth_failed'), 'rate_limited', 'rate_limited', 'rate_limited']);
    // The delay holds for the attacker's network, for a right password from an unknown device too...
    expect(await attempt(PASS, '203.0.113.77')).toBe('rate_limited');
    // ...but not for the owner's known device on that network, nor for the owner elsewhere.
    expect(await attempt(PASS, '203.0.113.78', firstDeviceKeyOf(u!.userId))).toBe('ok');
    expect(await attempt(PASS, '198.51.100.9')).toBe('device_approval_required'); // password accepted; a new device waits for approval
    // Every failure counted for the account (risk and detection), whatever the outcome.
    const row = await h
      .get()
      .db.selectFrom('users')
      .select('password_failures')
      .where('id', '=', u!.userId)
      .executeTakeFirstOrThrow();
    expect(Number(row.password_failures)).toBe(0); // reset by the owner's correct password
    const failed = await auditRecords(h.get().db, deps.auth.sealer, { actorId: u!.userId, action: 'login.failed' });
    expect(failed.filter((r) => (r.details as { step?: string }).step === 'password')).toHaveLength(8);
    expect(failed.filter((r) => (r.details as { step?: string }).step === 'throttled')).toHaveLength(1);
  });

  it('S7: an unknown name and a real one are throttled alike, and the delay grows then ends', async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('rk')]);
    const run = async (username: string, address: string) => {
      const out: string[] = [];
      for (let i = 0; i < 7; i++)
        out.push(
          await login(deps.auth, { username, password: 'wrong password here', device: device() }, address).then(
            () => 'ok',
            (e: AppError) => `${e.code}:${e.retryAfterMs ?? ''}`,
          ),
        );
      return out;
    };
    const real = await run(u!.username, '192.0.2.10');
    const unknown = await run(uniqueName('nobody'), '198.51.100.10');
    expect(unknown).toEqual(real);
    expect(real.slice(5)).toEqual(['rate_limited:2000', 'rate_limited:4000']);
    deps.clock.advance(4000);
    const key = firstDeviceKeyOf(u!.userId);
    expect(
      await login(
        deps.auth,
        { username: u!.username, password: PASS, device: { publicKey: key, name: 'x', platform: 'x' } },
        '192.0.2.10',
      ).then(() => 'ok'),
    ).toBe('ok');
  });

  it('S7: one address that keeps guessing is refused before any argon2 work, whatever the account', async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('rp')]);
    for (let i = 0; i < 10; i++)
      await login(
        deps.auth,
        { username: uniqueName('spray'), password: 'wrong password here', device: device() },
        '192.0.2.200',
      ).catch(() => undefined);
    const before = passwordGateStats().started;
    const r = await rejectionOf(
      login(
        deps.auth,
        {
          username: u!.username,
          password: PASS,
          device: { publicKey: firstDeviceKeyOf(u!.userId), name: 'x', platform: 'x' },
        },
        '192.0.2.200',
      ),
    );
    expect(r).toMatchObject({ code: 'rate_limited', retryAfterMs: 1000 });
    expect(passwordGateStats().started).toBe(before);
    // Another address of the same network is not held back by it.
    expect(
      await login(
        deps.auth,
        {
          username: u!.username,
          password: PASS,
          device: { publicKey: firstDeviceKeyOf(u!.userId), name: 'x', platform: 'x' },
        },
        '192.0.2.201',
      ),
    ).toHaveProperty('token');
  });

  it('S7: a streak of failures raises the risk of a login from a new device and network', async () => {
    const deps = await testDeps(h.get());
    const [u] = await makeUsers(deps.auth, [uniqueName('rs')]);
    for (let n = 0; n < 12; n++)
      await login(
        deps.auth,
        { username: u!.username, password: 'wrong password here', device: device() },
        `198.18.${n}.1`,
      ).catch(() => undefined);
    deps.clock.advance(2 * 3_600_000); // older than the one-hour `recent_failures` window
    await login(deps.auth, { username: u!.username, password: PASS, device: device() }, '198.19.0.1').catch(
      () => undefined,
    );
    const assessed = (
      await auditRecords(h.get().db, deps.auth.sealer, { actorId: u!.userId, action: 'login.risk_assessed' })
    ).at(-1)!;
    expect((assessed.details as { reasons: string[] }).reasons).toEqual(
      expect.arrayContaining(['failure_streak', 'new_device', 'new_network']),
    );
  });

  it('S7: past the consecutive-failure limit the password works only from a known device or network', async () => {
    const deps = await testDeps(h.get());
    deps.auth.policy.maxFactorFailures = 3;
    const [u] = await makeUsers(deps.auth, [uniqueName('rm')]);
    for (let n = 0; n < 3; n++)
      await login(
        deps.auth,
        { username: u!.username, password: 'wrong password here', device: device() },
        `198.18.${n}.1`,
      ).catch(() => undefined);
    const stranger = await rejectionOf(
      login(deps.auth, { username: u!.username, password: PASS, device: device() }, '198.19.7.7'),
    );
    expect(stranger).toMatchObject({ code: 'risk_denied', details: { reasons: ['failure_streak'] } });
    // The owner's own device still gets in, and that resets the count.
    await expect(
      login(
        deps.auth,
        {
          username: u!.username,
          password: PASS,
          device: { publicKey: firstDeviceKeyOf(u!.userId), name: 'x', platform: 'x' },
        },
        '198.19.7.7',
      ),
    ).resolves.toHaveProperty('token');
    const row = await h
      .get()
      .db.selectFrom('users')
      .select('password_failures')
      .where('id', '=', u!.userId)
      .executeTakeFirstOrThrow();
    expect(Number(row.password_failures)).toBe(0);
  });

  it('S9: the enrol check answers one `invalid` for unknown, used and expired tokens, and `pending` only for a real invite awaiting approval', async () => {
    const deps = await testDeps(h.get());
    const at = '198.51.100.61';
    const check = (token: string) => checkEnrolToken(deps.auth, token, at);
    const used = await createInvite(deps.auth, null, { role: 'member', ttlHours: 1 });
    expect(await check(used.token)).toEqual({ valid: true });
    await enrol(deps.auth, { token: used.token, username: uniqueName('c'), password: PASS }, at);
    const expired = await createInvite(deps.auth, null, { role: 'member', ttlHours: 1 });
    const pending = await createInvite(deps.auth, null, { role: 'member', ttlHours: 2, approvalId: 'approval-1' });
    deps.clock.advance(3_600_001);
    const invalid = { valid: false, reason: 'invalid' };
    expect(await check('not-a-real-token-0123456789abcdefghijklmnop')).toEqual(invalid);
    expect(await check(used.token)).toEqual(invalid);
    expect(await check(expired.token)).toEqual(invalid);
    expect(await check(pending.token)).toEqual({ valid: false, reason: 'pending' });
    const failed = await auditRecords(h.get().db, deps.auth.sealer, { action: 'enrolment.failed' });
    expect(failed.filter((r) => r.address === at)).toHaveLength(4); // every refusal is audited
    await releaseInvite(deps.auth, 'approval-1', 'second-admin');
    expect(await check(pending.token)).toEqual({ valid: true });
  });

  it('S9: a bogus enrolment token is refused before any argon2 work, whatever the password', async () => {
    const deps = await testDeps(h.get());
    const before = passwordGateStats().started;
    for (const password of ['orbit lantern velvet glacier tulip quarry', 'short']) {
      await expect(
        enrol(
          deps.auth,
          { token: 'not-a-real-token-0123456789abcdefghijklmnop', username: uniqueName('e'), password },
          '198.51.100.44',
        ),
      ).rejects.toMatchObject({ code: 'token_invalid' });
    }
    expect(passwordGateStats().started).toBe(before);
    // A real token still enrols, hashing exactly once.
    const inv = await createInvite(deps.auth, null, { role: 'member', ttlHours: 1 });
    await enrol(deps.auth, { token: inv.token, username: uniqueName('e'), password: PASS }, '198.51.100.44');
    expect(passwordGateStats().started).toBe(before + 1);
  });
});

describe('device proof', () => {
  it('accepts the device key signature over the challenge and nothing else', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pub = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
    const sig = sign(null, Buffer.from(deviceProofMessage('nonce-1')), privateKey).toString('base64url');
    expect(verifyDeviceProof(pub, 'nonce-1', sig)).toBe(true);
    expect(verifyDeviceProof(pub, 'nonce-2', sig)).toBe(false);
    expect(verifyDeviceProof(newDevicePublicKey(), 'nonce-1', sig)).toBe(false);
    expect(verifyDeviceProof(pub, 'nonce-1', 'garbage')).toBe(false);
  });
});
