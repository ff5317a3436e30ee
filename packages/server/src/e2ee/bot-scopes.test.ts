import { expect, it } from 'vitest';
import type { Principal, ServiceScope } from '../core/index.js';
import { FakeClock } from '../core/index.js';
import { openDirect } from '../messaging/index.js';
import { testDeps } from '../test-support/deps.js';
import { b64u, makeKeyPackage, mlsUsers, TestGroup, type MlsDevice } from '../test-support/mls-fixture.js';
import { rejectionOf } from '../test-support/rejection.js';
import { uniqueName } from '../test-support/users.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { claimKeyPackages, submitCommit, uploadKeyPackages } from './index.js';

const SUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519' as const;
const scoped = (p: Principal, scopes: ServiceScope[]): Principal => ({ ...p, scopes, deviceBound: true });

withAllStores('e2ee: a bot (device-bound service token) acts only within its scopes', (h) => {
  it('commits only where it may send, and claims KeyPackages only of co-members there', async () => {
    const deps = await testDeps(h.get(), new FakeClock(Date.now()), { e2eeRequired: true });
    // At-rest sealing off (a supported setting): its key check must not be what refuses the commit.
    (deps.messaging as { sealPayloads: boolean }).sealPayloads = false;
    const [a, b] = (await mlsUsers(deps.auth, [uniqueName('sa'), uniqueName('sb')])) as [MlsDevice, MlsDevice];
    const conv = (await openDirect(deps.messaging, a.principal, b.principal.username)).id;
    await uploadKeyPackages(deps.e2ee, b.principal, {
      packages: [
        { keyPackage: b64u((await makeKeyPackage(b)).bytes) },
        { keyPackage: b64u((await makeKeyPackage(b)).bytes) },
      ],
    });
    const group = await TestGroup.create(a, conv);
    const commit = await group.commit([]);
    const request = {
      epoch: 0,
      commit: b64u(commit.commit),
      groupInfo: b64u(commit.groupInfo),
      added: [],
      removed: [],
      suite: SUITE,
    };
    // A member whose token may only read: the commit is refused before anything is stored.
    const readOnly = scoped(a.principal, [{ action: 'conversation.read', conversations: '*' }]);
    expect(await rejectionOf(submitCommit(deps.e2ee, readOnly, conv, request))).toMatchObject({ code: 'forbidden' });
    const otherConv = scoped(a.principal, [{ action: 'message.send', conversations: ['elsewhere'] }]);
    expect(await rejectionOf(submitCommit(deps.e2ee, otherConv, conv, request))).toMatchObject({ code: 'forbidden' });
    expect((await claimKeyPackages(deps.e2ee, readOnly, [b.principal.deviceId])).missing).toEqual([
      b.principal.deviceId,
    ]);
    expect((await claimKeyPackages(deps.e2ee, otherConv, [b.principal.deviceId])).missing).toEqual([
      b.principal.deviceId,
    ]);
    // With the send scope on this conversation both go through.
    const sender = scoped(a.principal, [{ action: 'message.send', conversations: [conv] }]);
    const claimed = await claimKeyPackages(deps.e2ee, sender, [b.principal.deviceId]);
    expect(claimed.packages.map((p) => p.deviceId)).toEqual([b.principal.deviceId]);
    await expect(submitCommit(deps.e2ee, sender, conv, request)).resolves.toMatchObject({ epoch: 1 });
  });
});
