import { describe, expect, it } from 'vitest';
import { encodeMlsMessage } from 'ts-mls';
import { FakeClock, type DomainEvent } from '../core/index.js';
import { openDirect } from '../messaging/index.js';
import { testDeps } from '../test-support/deps.js';
import {
  b64u,
  makeKeyPackage,
  mlsSecondDevice,
  mlsUsers,
  strangerKeys,
  testCredential,
  type MlsDevice,
} from '../test-support/mls-fixture.js';
import { rejectionOf } from '../test-support/rejection.js';
import { uniqueName } from '../test-support/users.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { claimKeyPackages, keyPackageStock, uploadKeyPackages } from './index.js';

const upload = async (deps: Awaited<ReturnType<typeof testDeps>>, dev: MlsDevice, n: number, lastResort = false) => {
  const packages = [];
  for (let i = 0; i < n; i++) packages.push({ keyPackage: b64u((await makeKeyPackage(dev)).bytes), lastResort });
  return uploadKeyPackages(deps.e2ee, dev.principal, { packages });
};

withAllStores('e2ee: KeyPackage directory', (h) => {
  const setup = async (n = 2) => {
    const clock = new FakeClock(Date.now());
    const deps = await testDeps(h.get(), clock, { e2eeRequired: true });
    const users = await mlsUsers(
      deps.auth,
      Array.from({ length: n }, () => uniqueName('k')),
    );
    return { deps, clock, users };
  };

  it('stores a batch and answers the stock; a claim by a co-member takes one (deleted) and lowers the stock', async () => {
    const { deps, users } = await setup();
    const [a, b] = users as [MlsDevice, MlsDevice];
    await openDirect(deps.messaging, a.principal, b.principal.username);
    expect(await upload(deps, b, 3)).toEqual({ stock: 3, lastResort: false });
    const r = await claimKeyPackages(deps.e2ee, a.principal, [b.principal.deviceId]);
    expect(r.missing).toEqual([]);
    expect(r.packages).toHaveLength(1);
    expect(r.packages[0]).toMatchObject({ userId: b.principal.userId, deviceId: b.principal.deviceId });
    expect(await keyPackageStock(deps.e2ee, b.principal)).toEqual({ stock: 2, lastResort: false });
  });

  it('refuses a package signed by another key, a foreign credential, a non-device credential, as a whole batch', async () => {
    const { deps, users } = await setup();
    const [a, b] = users as [MlsDevice, MlsDevice];
    const good = b64u((await makeKeyPackage(a)).bytes);
    const cases = [
      await makeKeyPackage(a, { keys: strangerKeys() }),
      await makeKeyPackage(a, { credential: b.credential }),
      await makeKeyPackage(a, { credential: testCredential(a.principal, b.publicKey) }),
      await makeKeyPackage(a, { credential: new TextEncoder().encode('not a credential') }),
    ];
    for (const bad of cases) {
      const e = await rejectionOf(
        uploadKeyPackages(deps.e2ee, a.principal, {
          packages: [{ keyPackage: good }, { keyPackage: b64u(bad.bytes) }],
        }),
      );
      expect(e.code).toBe('invalid_key_package');
      expect((e.details as { index: number }).index).toBe(1);
    }
    // All or none: the good package of each refused batch was not stored.
    expect(await keyPackageStock(deps.e2ee, a.principal)).toEqual({ stock: 0, lastResort: false });
  });

  it('accepts the X-Wing post-quantum suite', async () => {
    const { deps, users } = await setup(1);
    const a = users[0] as MlsDevice;
    const kp = await makeKeyPackage(a, { suite: 'MLS_256_XWING_AES256GCM_SHA512_Ed25519' });
    expect(await uploadKeyPackages(deps.e2ee, a.principal, { packages: [{ keyPackage: b64u(kp.bytes) }] })).toEqual({
      stock: 1,
      lastResort: false,
    });
  });

  it('refuses expired, not yet valid and over-long lifetimes, and bytes that are no KeyPackage', async () => {
    const { deps, users } = await setup(1);
    const a = users[0] as MlsDevice;
    const now = Math.floor(Date.now() / 1000);
    const lifetimes = [
      { notBefore: now - 7200, notAfter: now - 3600 },
      { notBefore: now + 3600, notAfter: now + 7200 },
      { notBefore: now - 60, notAfter: now + 91 * 86400 },
    ];
    for (const l of lifetimes) {
      const kp = await makeKeyPackage(a, l);
      const e = await rejectionOf(
        uploadKeyPackages(deps.e2ee, a.principal, { packages: [{ keyPackage: b64u(kp.bytes) }] }),
      );
      expect(e.code).toBe('invalid_key_package');
    }
    // The same package re-labelled with a suite the server does not allow.
    const p256 = encodeMlsMessage({
      version: 'mls10',
      wireformat: 'mls_key_package',
      keyPackage: {
        ...(await makeKeyPackage(a)).publicPackage,
        cipherSuite: 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256',
      },
    });
    const refused = await rejectionOf(
      uploadKeyPackages(deps.e2ee, a.principal, { packages: [{ keyPackage: b64u(p256) }] }),
    );
    expect(refused.details).toEqual({ index: 0, reason: 'cipher suite not allowed' });
    const e = await rejectionOf(uploadKeyPackages(deps.e2ee, a.principal, { packages: [{ keyPackage: 'AAEC' }] }));
    expect(e.code).toBe('invalid_key_package');
  });

  it('hands out the last-resort package again and again, and a new one replaces it', async () => {
    const { deps, users } = await setup();
    const [a, b] = users as [MlsDevice, MlsDevice];
    await openDirect(deps.messaging, a.principal, b.principal.username);
    const first = b64u((await makeKeyPackage(b)).bytes);
    expect(
      await uploadKeyPackages(deps.e2ee, b.principal, { packages: [{ keyPackage: first, lastResort: true }] }),
    ).toEqual({ stock: 0, lastResort: true });
    for (let i = 0; i < 3; i++) {
      const r = await claimKeyPackages(deps.e2ee, a.principal, [b.principal.deviceId]);
      expect(r.packages[0]?.keyPackage).toBe(first);
    }
    const second = b64u((await makeKeyPackage(b)).bytes);
    await uploadKeyPackages(deps.e2ee, b.principal, { packages: [{ keyPackage: second, lastResort: true }] });
    const r = await claimKeyPackages(deps.e2ee, a.principal, [b.principal.deviceId]);
    expect(r.packages[0]?.keyPackage).toBe(second);
    const n = await h
      .get()
      .db.selectFrom('key_packages')
      .select('ref')
      .where('device_id', '=', b.principal.deviceId)
      .execute();
    expect(n).toHaveLength(1);
  });

  it('skips expired packages on claim (checked on use), falling back to the last resort', async () => {
    const { deps, clock, users } = await setup();
    const [a, b] = users as [MlsDevice, MlsDevice];
    await openDirect(deps.messaging, a.principal, b.principal.username);
    const now = Math.floor(Date.now() / 1000);
    const shortLived = b64u((await makeKeyPackage(b, { notBefore: now - 60, notAfter: now + 600 })).bytes);
    const lastResort = b64u((await makeKeyPackage(b)).bytes);
    await uploadKeyPackages(deps.e2ee, b.principal, {
      packages: [{ keyPackage: shortLived }, { keyPackage: lastResort, lastResort: true }],
    });
    clock.advance(3_600_000);
    expect(await keyPackageStock(deps.e2ee, b.principal)).toEqual({ stock: 0, lastResort: true });
    const r = await claimKeyPackages(deps.e2ee, a.principal, [b.principal.deviceId]);
    expect(r.packages[0]?.keyPackage).toBe(lastResort);
  });

  it('answers strangers, revoked and unknown devices as missing; own devices are claimable', async () => {
    const { deps, users } = await setup(3);
    const [a, b, stranger] = users as [MlsDevice, MlsDevice, MlsDevice];
    await openDirect(deps.messaging, a.principal, b.principal.username);
    await upload(deps, b, 1);
    const a2 = await mlsSecondDevice(deps.auth, a);
    await upload(deps, a2, 1);
    const r = await claimKeyPackages(deps.e2ee, stranger.principal, [b.principal.deviceId, 'nope']);
    expect(r).toEqual({ packages: [], missing: [b.principal.deviceId, 'nope'] });
    expect(await keyPackageStock(deps.e2ee, b.principal)).toEqual({ stock: 1, lastResort: false });
    const own = await claimKeyPackages(deps.e2ee, a.principal, [a2.principal.deviceId]);
    expect(own.packages.map((p) => p.deviceId)).toEqual([a2.principal.deviceId]);
  });

  it('publishes key_packages_low to the device when a claim leaves fewer than 10', async () => {
    const { deps, users } = await setup();
    const [a, b] = users as [MlsDevice, MlsDevice];
    await openDirect(deps.messaging, a.principal, b.principal.username);
    await upload(deps, b, 11);
    const lows = () =>
      deps.events.filter((e): e is DomainEvent<'mls.key_packages_low'> => e.type === 'mls.key_packages_low');
    await claimKeyPackages(deps.e2ee, a.principal, [b.principal.deviceId]);
    expect(lows()).toHaveLength(0);
    await claimKeyPackages(deps.e2ee, a.principal, [b.principal.deviceId]);
    expect(lows().map((e) => e.data)).toEqual([
      { userId: b.principal.userId, deviceId: b.principal.deviceId, stock: 9 },
    ]);
  });

  describe('concurrency', () => {
    it('concurrent claims never return one package twice', async () => {
      const { deps, users } = await setup(4);
      const [b, ...claimers] = users;
      for (const c of claimers) await openDirect(deps.messaging, c.principal, b!.principal.username);
      await upload(deps, b!, 12);
      const claims = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          claimKeyPackages(deps.e2ee, claimers[i % 3]!.principal, [b!.principal.deviceId]),
        ),
      );
      const got = claims.flatMap((c) => c.packages.map((p) => p.keyPackage));
      expect(got).toHaveLength(12);
      expect(new Set(got).size).toBe(12);
      expect(claims.filter((c) => c.missing.length === 1)).toHaveLength(12);
      expect(await keyPackageStock(deps.e2ee, b!.principal)).toEqual({ stock: 0, lastResort: false });
    });
  });
});
