import { expect, it } from 'vitest';
import type { Principal } from '../core/index.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { testDeps } from '../test-support/deps.js';
import { makeUsers, newDevicePublicKey, uniqueName } from '../test-support/users.js';
import { auditRecords } from '../test-support/audit.js';
import {
  authenticateServiceTokenDevice,
  createServiceAccount,
  issueServiceToken,
  listServiceAccounts,
  purgeExpired,
  revokeDevice,
  revokeServiceToken,
} from './index.js';

const scopes = [{ action: 'message.send' as const, conversations: '*' as const }];

withAllStores('device-bound service tokens', (h) => {
  const setup = async () => {
    const deps = await testDeps(h.get());
    const [admin] = await makeUsers(deps.auth, [uniqueName('sd')], ['org_admin', 'security_admin']);
    const stepped: Principal = { ...admin!, strongAuthAt: deps.clock.now() };
    const svc = await createServiceAccount(deps.auth, stepped, uniqueName('bot').replace('.', ''));
    return { deps, admin: stepped, svc };
  };

  it('binds the token to a new trusted device of the bot (audited); revoking the token revokes the device', async () => {
    const { deps, admin, svc } = await setup();
    const key = newDevicePublicKey();
    const t = await issueServiceToken(deps.auth, admin, svc.id, {
      scopes,
      expiresInDays: 1,
      ratePerMinute: 60,
      devicePublicKey: key,
    });
    expect(t.deviceId).toBeDefined();
    const device = await h
      .get()
      .db.selectFrom('devices')
      .select(['user_id', 'public_key', 'approved_at', 'revoked_at'])
      .where('id', '=', t.deviceId!)
      .executeTakeFirstOrThrow();
    expect(device).toMatchObject({ user_id: svc.id, public_key: key, revoked_at: null });
    expect(device.approved_at).not.toBeNull();
    const added = await auditRecords(h.get().db, deps.auth.sealer, { target: t.deviceId!, action: 'device.added' });
    expect(added).toHaveLength(1);
    const r = await authenticateServiceTokenDevice(deps.auth, t.token, '10.0.0.1');
    expect(r.devicePublicKey).toBe(key);
    expect(r.principal).toMatchObject({ userId: svc.id, deviceId: t.deviceId, deviceBound: true });
    expect((await listServiceAccounts(deps.auth)).find((s) => s.id === svc.id)?.tokens[0]?.deviceId).toBe(t.deviceId);

    await revokeServiceToken(deps.auth, admin, svc.id, t.id);
    const after = await h
      .get()
      .db.selectFrom('devices')
      .select('revoked_at')
      .where('id', '=', t.deviceId!)
      .executeTakeFirstOrThrow();
    expect(after.revoked_at).not.toBeNull();
    expect(
      await auditRecords(h.get().db, deps.auth.sealer, { target: t.deviceId!, action: 'device.revoked' }),
    ).toHaveLength(1);
    await expect(authenticateServiceTokenDevice(deps.auth, t.token, '10.0.0.1')).rejects.toMatchObject({
      code: 'session_invalid',
    });
  });

  it('an unbound token keeps its token: device and no key; a bad or reused key is refused and creates nothing', async () => {
    const { deps, admin, svc } = await setup();
    const plain = await issueServiceToken(deps.auth, admin, svc.id, { scopes, expiresInDays: 1, ratePerMinute: 60 });
    expect(plain.deviceId).toBeUndefined();
    const r = await authenticateServiceTokenDevice(deps.auth, plain.token, '10.0.0.1');
    expect(r.devicePublicKey).toBeNull();
    expect(r.principal.deviceId).toBe(`token:${plain.id}`);
    expect(r.principal.deviceBound).toBeUndefined();

    const count = async () =>
      Number(
        (
          await h
            .get()
            .db.selectFrom('service_tokens')
            .select((e) => e.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const n = await count();
    for (const bad of ['AAAA', Buffer.alloc(31, 7).toString('base64url'), Buffer.alloc(33, 7).toString('base64url')])
      await expect(
        issueServiceToken(deps.auth, admin, svc.id, {
          scopes,
          expiresInDays: 1,
          ratePerMinute: 60,
          devicePublicKey: bad,
        }),
      ).rejects.toMatchObject({ code: 'invalid_device_key' });
    const key = newDevicePublicKey();
    await issueServiceToken(deps.auth, admin, svc.id, {
      scopes,
      expiresInDays: 1,
      ratePerMinute: 60,
      devicePublicKey: key,
    });
    await expect(
      issueServiceToken(deps.auth, admin, svc.id, {
        scopes,
        expiresInDays: 1,
        ratePerMinute: 60,
        devicePublicKey: key,
      }),
    ).rejects.toMatchObject({ code: 'invalid_device_key' });
    // The refused reuse rolled back: only the one bound token was added.
    expect(await count()).toBe(n + 1);
  });

  it('the expiry sweep revokes the device of an expired bound token, and only that one', async () => {
    const { deps, admin, svc } = await setup();
    const req = { scopes, ratePerMinute: 60 };
    const short = await issueServiceToken(deps.auth, admin, svc.id, {
      ...req,
      expiresInDays: 1,
      devicePublicKey: newDevicePublicKey(),
    });
    const long = await issueServiceToken(deps.auth, admin, svc.id, {
      ...req,
      expiresInDays: 7,
      devicePublicKey: newDevicePublicKey(),
    });
    const revokedAt = async (id: string) =>
      (await h.get().db.selectFrom('devices').select('revoked_at').where('id', '=', id).executeTakeFirstOrThrow())
        .revoked_at;
    await purgeExpired(h.get().db, deps.clock.now()); // tokens of earlier tests in this store
    expect(await revokedAt(short.deviceId!)).toBeNull();
    deps.clock.advance(86_400_000);
    // At least this one (earlier tests' one-day tokens in the same store expire too).
    expect((await purgeExpired(h.get().db, deps.clock.now())).expiredBotDevices).toBeGreaterThanOrEqual(1);
    expect(await revokedAt(short.deviceId!)).not.toBeNull();
    expect(await revokedAt(long.deviceId!)).toBeNull();
    expect((await purgeExpired(h.get().db, deps.clock.now())).expiredBotDevices).toBe(0);
  });

  it('a bound token whose device was revoked on its own is refused', async () => {
    const { deps, admin, svc } = await setup();
    const t = await issueServiceToken(deps.auth, admin, svc.id, {
      scopes,
      expiresInDays: 1,
      ratePerMinute: 60,
      devicePublicKey: newDevicePublicKey(),
    });
    await revokeDevice(deps.auth, admin, t.deviceId!, { any: true });
    await expect(authenticateServiceTokenDevice(deps.auth, t.token, '10.0.0.1')).rejects.toMatchObject({
      code: 'session_invalid',
    });
  });
});
